"""Container images for the integration suite, built here with podman, and podman's Docker API.

No image registry is needed: a Debian base system comes from Debian's packages (debootstrap),
and the Kafka and FerretDB images are built on it from the same Maven jars and Go binary that
the plain-process runner uses. testcontainers then drives podman through its Docker API.
"""
