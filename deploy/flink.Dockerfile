# Flink 2.0.2 (the version of the apache-flink wheel) with Python 3.11, skewless, the Kafka connector jars
# and the feature engine's jar. The engine is compiled in a build stage with a JDK; the runtime image keeps Flink's JRE.
FROM flink:2.0.2-scala_2.12-java17 AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv openjdk-17-jdk-headless \
    && rm -rf /var/lib/apt/lists/* \
    && python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH SKEWLESS_JAR_CACHE=/opt/skewless-jars
COPY . /opt/skewless
RUN pip install --no-cache-dir /opt/skewless \
    && python -c "from skewless.connectors import kafka_connector_jars; from jobs.engine_jar import engine_jar; kafka_connector_jars(); engine_jar()"

FROM flink:2.0.2-scala_2.12-java17
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 \
    && rm -rf /var/lib/apt/lists/* \
    && cp /opt/flink/opt/flink-python-*.jar /opt/flink/lib/
ENV PATH=/opt/venv/bin:$PATH SKEWLESS_JAR_CACHE=/opt/skewless-jars
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/skewless-jars /opt/skewless-jars
COPY . /opt/skewless
RUN python -c "from skewless.connectors import kafka_connector_jars as j; import shutil; [shutil.copy(p, '/opt/flink/lib/') for p in j()]"
WORKDIR /opt/skewless
