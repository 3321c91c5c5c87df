#!/bin/bash
# Start a single-node KRaft broker+controller. Every KAFKA_* variable (other than the JVM ones)
# becomes a server.properties key the way the apache/kafka image reads them (KAFKA_LOG_DIRS ->
# log.dirs; ___ -> '-', __ -> '_'), on top of defaults that work on their own, so the test
# fixtures configure this image and apache/kafka with the same environment.
set -euo pipefail

props=/var/lib/kafka/server.properties
mkdir -p /var/lib/kafka/data
cat >"$props" <<'DEFAULTS'
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
DEFAULTS

# Later lines win when Java reads a properties file, so overrides are simply appended.
while IFS='=' read -r name value; do
    case $name in
        KAFKA_HEAP_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_OPTS) continue ;;
        KAFKA_*) ;;
        *) continue ;;
    esac
    key=${name#KAFKA_}
    key=${key,,}
    key=${key//___/-}
    key=${key//__/@}
    key=${key//_/.}
    key=${key//@/_}
    printf '%s=%s\n' "$key" "$value" >>"$props"
done < <(env)

java_opts=(${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} ${KAFKA_OPTS:-}
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.xml -cp '/opt/kafka/libs/*')

# CLUSTER_ID as in apache/kafka; a fresh one otherwise. A restarted container keeps its storage.
cluster_id=${CLUSTER_ID:-$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid)}
java "${java_opts[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$props"
exec java "${java_opts[@]}" kafka.Kafka "$props"
