"""The suite's three images, built with podman only when an image of the same recipe is missing.

Each image is tagged with a hash of everything it is built from (its Containerfile and files,
the Kafka pom, the FerretDB version, the base system's recipe), so podman's own storage is the
cache: a changed recipe gets a new tag and is rebuilt, an unchanged one is never rebuilt. The
base system's root filesystem is also kept as a tarball under ``.cache/containers/``, so losing
podman's storage costs an import, not a second debootstrap.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from infra.containers.podman import image_exists, podman, podman_binary, podman_env
from infra.paths import CACHE_DIR
from infra.processes import tail
from infra.toolchain import (
    FERRETDB_VERSION,
    KAFKA_POM,
    ToolchainError,
    ferretdb_binary,
    kafka_lib_dir,
)

Say = Callable[[str], None]

HERE = Path(__file__).resolve().parent
KAFKA_LOG4J = HERE.parent / "kafka" / "log4j2.xml"
PREFIX = "localhost/chat-test"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
IMAGE_SETTINGS = {
    "kafka": "CHAT_TEST_KAFKA_IMAGE",
    "mongodb": "CHAT_TEST_MONGO_IMAGE",
    "redis": "CHAT_TEST_REDIS_IMAGE",
}
"""The variables naming each server's image for the tests; unset means the one built here."""
BASE_RECIPE = f"debootstrap --variant=minbase {DEBIAN_SUITE}; apt lists removed; v1"


def _digest(*parts: str | bytes) -> str:
    sha = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        sha.update(len(data).to_bytes(8, "big") + data)
    return sha.hexdigest()[:16]


def base_image() -> str:
    return f"{PREFIX}/debian:{DEBIAN_SUITE}-{_digest(BASE_RECIPE)}"


def _recipe(name: str) -> list[bytes]:
    return [path.read_bytes() for path in sorted((HERE / name).iterdir()) if path.is_file()]


def image_names() -> dict[str, str]:
    """The locally built image for each server, by role: ``kafka``, ``mongodb``, ``redis``."""
    base = base_image()
    kafka = _digest(base, *_recipe("kafka"), KAFKA_LOG4J.read_bytes(), KAFKA_POM.read_bytes())
    ferretdb = _digest(base, *_recipe("ferretdb"), FERRETDB_VERSION)
    redis = _digest(base, *_recipe("redis"))
    return {
        "kafka": f"{PREFIX}/kafka:{kafka}",
        "mongodb": f"{PREFIX}/ferretdb:{ferretdb}",
        "redis": f"{PREFIX}/redis:{redis}",
    }


def _podman_logged(args: list[str], log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        code = subprocess.call(
            [podman_binary(), *args],
            env=podman_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if code != 0:
        raise ToolchainError(
            f"`podman {' '.join(args[:2])} …` failed ({code}); last lines of {log_path}:\n"
            f"{tail(log_path)}"
        )


def ensure_base(cache_dir: Path, say: Say) -> str:
    """A minimal Debian image made from Debian's packages: debootstrap, tar, ``podman import``."""
    name = base_image()
    if image_exists(name):
        return name
    folder = cache_dir / "containers"
    tarball = folder / f"{name.rsplit('/', 1)[1].replace(':', '-')}.tar"
    log = cache_dir / "logs" / "image-debian.log"
    if not tarball.is_file():
        if shutil.which("debootstrap") is None:
            raise ToolchainError("debootstrap is not installed (./dev test installs it)")
        say(f"making a Debian {DEBIAN_SUITE} root filesystem with debootstrap (first run)")
        rootfs = folder / "rootfs"
        shutil.rmtree(rootfs, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
        mirror = os.environ.get("CHAT_DEBIAN_MIRROR", DEBIAN_MIRROR)
        _run_logged(["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(rootfs), mirror], log)
        shutil.rmtree(rootfs / "var" / "lib" / "apt" / "lists", ignore_errors=True)
        (rootfs / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True)
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        partial = tarball.with_suffix(".partial")
        _run_logged(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."], log)
        partial.replace(tarball)
        shutil.rmtree(rootfs, ignore_errors=True)
    say(f"importing {tarball.name} as {name}")
    _podman_logged(["import", str(tarball), name], log)
    return name


def _run_logged(argv: list[str], log_path: Path) -> None:
    with log_path.open("ab") as log:
        code = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    if code != 0:
        raise ToolchainError(
            f"`{argv[0]}` failed ({code}); last lines of {log_path}:\n{tail(log_path)}"
        )


def _context(cache_dir: Path, recipe: str, extra: dict[str, Path]) -> Path:
    """A build context: the recipe's files plus ``extra`` (name in context -> file or folder)."""
    context = cache_dir / "containers" / "context" / recipe
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(HERE / recipe, context)
    for name, source in extra.items():
        if source.is_dir():
            shutil.copytree(source, context / name, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(source), str(context / name))
    return context


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _build(name: str, base: str, context: Path, log: Path) -> None:
    log.unlink(missing_ok=True)
    _podman_logged(
        ["build", "--network=host", "--build-arg", f"BASE={base}", "-t", name, str(context)], log
    )
    shutil.rmtree(context, ignore_errors=True)
    _remove_older_tags(name)


def _remove_older_tags(name: str) -> None:
    """Images of an earlier recipe of the same server are dead weight once the new one exists."""
    repository = name.rsplit(":", 1)[0]
    listed = podman(
        ["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={repository}"],
        check=False,
    ).stdout.split()
    old = [image for image in listed if image != name and image.startswith(repository + ":")]
    if old:
        podman(["rmi", *old], check=False)


def ensure_images(cache_dir: Path = CACHE_DIR, say: Say = print) -> dict[str, str]:
    """Build whichever of the three images is missing; returns their names by role."""
    names = image_names()
    missing = {role: name for role, name in names.items() if not image_exists(name)}
    if not missing:
        return names
    say(f"building images: {', '.join(missing.values())} (first run, a few minutes)")
    logs = cache_dir / "logs"
    with ThreadPoolExecutor(max_workers=3) as pool:
        # The slow downloads (debootstrap, Maven, the Go build) overlap.
        base_future = pool.submit(ensure_base, cache_dir, say)
        jars = pool.submit(kafka_lib_dir, cache_dir) if "kafka" in missing else None
        binary = pool.submit(ferretdb_binary, cache_dir) if "mongodb" in missing else None
        base = base_future.result()
        contexts: dict[str, Path] = {}
        if jars is not None:
            extra = {"libs": jars.result(), "log4j2.xml": KAFKA_LOG4J}
            contexts["kafka"] = _context(cache_dir, "kafka", extra)
        if binary is not None:
            contexts["mongodb"] = _context(cache_dir, "ferretdb", {"ferretdb": binary.result()})
        if "redis" in missing:
            contexts["redis"] = _context(cache_dir, "redis", {})
        builds = [
            pool.submit(_build, missing[role], base, context, logs / f"image-{context.name}.log")
            for role, context in contexts.items()
        ]
        for build in builds:
            build.result()
    for name in missing.values():
        say(f"built {name}")
    return names
