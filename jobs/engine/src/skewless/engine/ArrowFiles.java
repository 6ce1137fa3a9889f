package skewless.engine;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.python.shaded.org.apache.arrow.memory.BufferAllocator;
import org.apache.flink.api.python.shaded.org.apache.arrow.memory.RootAllocator;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.BigIntVector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.FieldVector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.Float8Vector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.VarCharVector;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.types.pojo.Field;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.flink.api.python.shaded.org.apache.arrow.vector.types.pojo.Schema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.types.Row;

/**
 * A bounded job's rows to Arrow IPC stream files, one per subtask ({@code <folder>/<name>-<subtask>.arrow}).
 *
 * <p>For the backfill: collecting a million rows through the client costs more than the whole
 * feature computation, while a file is written in passing and read back by pyarrow without
 * parsing ({@code jobs/job_files.py}). Text cost more: the CSV writer was a fifth of the busiest
 * stage's samples, mostly formatting numbers, and reading it back took 1 s (profiled). Arrow as
 * shaded inside flink-python, which PyFlink puts on the classpath. A double that is NaN is written
 * as null, as the features define it. A restarted attempt rewrites its file from the start; the
 * files are complete when the job has finished.
 */
public final class ArrowFiles implements Sink<Row> {
    private static final long serialVersionUID = 1L;
    private static final int BATCH_ROWS = 16_384;
    private final String folder;
    private final String name;
    private final String columns;

    private ArrowFiles(String folder, String name, String columns) {
        this.folder = folder;
        this.name = name;
        this.columns = columns;
    }

    /** {@code columns}: the rows' fields in order, "name:type,..." with type string, int64 or float64. */
    public static void write(DataStream<Row> rows, String folder, String name, String columns) {
        rows.sinkTo(new ArrowFiles(folder, name, columns)).name("write " + name + " (Arrow)");
    }

    @Override
    public SinkWriter<Row> createWriter(WriterInitContext context) throws IOException {
        Path path = Paths.get(folder, name + "-" + context.getTaskInfo().getIndexOfThisSubtask() + ".arrow");
        Files.createDirectories(path.getParent());
        return new BatchWriter(schema(columns), path);
    }

    private static Schema schema(String columns) {
        List<Field> fields = new ArrayList<>();
        for (String column : columns.split(",")) {
            String[] parts = column.split(":");
            fields.add(new Field(parts[0], FieldType.nullable(arrowType(parts[1])), null));
        }
        return new Schema(fields);
    }

    private static ArrowType arrowType(String type) {
        switch (type) {
            case "string":
                return ArrowType.Utf8.INSTANCE;
            case "int64":
                return new ArrowType.Int(64, true);
            case "float64":
                return new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
            default:
                throw new IllegalArgumentException("no Arrow column for type " + type + ": string, int64 or float64");
        }
    }

    private static final class BatchWriter implements SinkWriter<Row> {
        private final BufferAllocator allocator = new RootAllocator();
        private final VectorSchemaRoot root;
        private final FieldVector[] vectors;
        private final FileOutputStream file;
        private final ArrowStreamWriter out;
        private int rows;

        BatchWriter(Schema schema, Path path) throws IOException {
            root = VectorSchemaRoot.create(schema, allocator);
            vectors = root.getFieldVectors().toArray(new FieldVector[0]);
            for (FieldVector vector : vectors) {
                vector.setInitialCapacity(BATCH_ROWS); // room for a whole batch: setNull does not grow a vector
            }
            root.allocateNew();
            file = new FileOutputStream(path.toFile());
            out = new ArrowStreamWriter(root, null, Channels.newChannel(file));
            out.start();
        }

        @Override
        public void write(Row row, Context context) throws IOException {
            for (int i = 0; i < vectors.length; i++) {
                set(vectors[i], rows, row.getField(i));
            }
            if (++rows == BATCH_ROWS) {
                writeBatch();
            }
        }

        private static void set(FieldVector vector, int at, Object value) {
            if (value == null || (value instanceof Double && ((Double) value).isNaN())) {
                vector.setNull(at);
            } else if (vector instanceof Float8Vector) {
                ((Float8Vector) vector).setSafe(at, (Double) value);
            } else if (vector instanceof BigIntVector) {
                ((BigIntVector) vector).setSafe(at, ((Number) value).longValue());
            } else {
                ((VarCharVector) vector).setSafe(at, value.toString().getBytes(StandardCharsets.UTF_8));
            }
        }

        private void writeBatch() throws IOException {
            if (rows == 0) {
                return;
            }
            root.setRowCount(rows);
            out.writeBatch();
            for (FieldVector vector : vectors) {
                vector.reset();
            }
            rows = 0;
        }

        @Override
        public void flush(boolean endOfInput) throws IOException {
            if (endOfInput) {
                writeBatch();
            }
        }

        @Override
        public void close() throws IOException {
            out.end();
            out.close();
            file.close();
            root.close();
            allocator.close();
        }
    }
}
