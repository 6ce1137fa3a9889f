package skewless.engine;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.types.Row;

/**
 * A bounded job's rows to plain CSV files, one per subtask ({@code <folder>/<name>-<subtask>.csv}).
 *
 * <p>For the backfill: collecting a million rows through the client costs more than the whole
 * feature computation, while a file is written in passing and read back in one call. Strings are
 * always quoted (RFC 4180), a null (or NaN) is an empty unquoted field, and a double is written as
 * the integer of its IEEE-754 bits ({@link Double#doubleToRawLongBits}), which
 * {@code jobs/csv_parts.py} turns back into the same double: exact, and cheap to write, where
 * {@link Double#toString} was the largest single cost of the backfill's busiest thread (a sixth of
 * its samples, profiled). A restarted attempt rewrites its file from the start; the files are
 * complete when the job has finished.
 */
public final class CsvFiles implements Sink<Row> {
    private static final long serialVersionUID = 1L;
    private final String folder;
    private final String name;

    private CsvFiles(String folder, String name) {
        this.folder = folder;
        this.name = name;
    }

    public static void write(DataStream<Row> rows, String folder, String name) {
        rows.sinkTo(new CsvFiles(folder, name)).name("write " + name + " CSV");
    }

    @Override
    public SinkWriter<Row> createWriter(WriterInitContext context) throws IOException {
        Path path = Paths.get(folder, name + "-" + context.getTaskInfo().getIndexOfThisSubtask() + ".csv");
        Files.createDirectories(path.getParent());
        return new RowWriter(Files.newBufferedWriter(path, StandardCharsets.UTF_8));
    }

    private static final class RowWriter implements SinkWriter<Row> {
        private final BufferedWriter out;

        RowWriter(BufferedWriter out) {
            this.out = out;
        }

        @Override
        public void write(Row row, Context context) throws IOException {
            for (int i = 0; i < row.getArity(); i++) {
                if (i > 0) {
                    out.write(',');
                }
                field(out, row.getField(i));
            }
            out.write('\n');
        }

        private static void field(Writer out, Object value) throws IOException {
            if (value == null || (value instanceof Double && ((Double) value).isNaN())) {
                return;
            }
            if (value instanceof String) {
                out.write('"');
                out.write(((String) value).replace("\"", "\"\""));
                out.write('"');
            } else if (value instanceof Double) {
                out.write(Long.toString(Double.doubleToRawLongBits((Double) value)));
            } else {
                out.write(value.toString());
            }
        }

        @Override
        public void flush(boolean endOfInput) throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
