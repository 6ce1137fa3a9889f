# Flink with PyFlink, skewless and the Kafka connector jars (draft).
FROM flink:2.0.2-scala_2.12-java17
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-venv \
    && rm -rf /var/lib/apt/lists/* && ln -sf /usr/bin/python3 /usr/bin/python
COPY . /opt/skewless
RUN pip3 install --no-cache-dir --break-system-packages /opt/skewless \
    && python3 -c "from skewless.connectors import kafka_connector_jars as j; import shutil; [shutil.copy(p, '/opt/flink/lib/') for p in j()]"
WORKDIR /opt/skewless
