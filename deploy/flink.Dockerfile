# Flink 2.0.2 (the version of the apache-flink wheel) with Python 3.11, skewless and the Kafka connector jars.
FROM flink:2.0.2-scala_2.12-java17
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3.11 -m venv /opt/venv \
    && cp /opt/flink/opt/flink-python-*.jar /opt/flink/lib/
ENV PATH=/opt/venv/bin:$PATH
COPY . /opt/skewless
RUN pip install --no-cache-dir /opt/skewless \
    && python -c "from skewless.connectors import kafka_connector_jars as j; import shutil; [shutil.copy(p, '/opt/flink/lib/') for p in j()]"
WORKDIR /opt/skewless
