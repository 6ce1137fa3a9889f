package skewless.engine;

import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.types.Row;

/**
 * Tells the Python scoring step, in the row stream itself, where each checkpoint falls.
 *
 * <p>A Python scalar function gets no checkpoint callback, yet the served-features log, the
 * online write-behind and the serving model must be tied to checkpoints for a restart to replay
 * exactly what was lost. This operator, chained right before the scoring step, passes every row
 * on with one more field, {@value #FIELD}, null for rows, and emits a row holding only that
 * field at three moments:
 *
 * <ul>
 *   <li>{@code open}: before any row, with the checkpoint restored from (-1 on a fresh start);
 *   <li>{@code barrier}: in {@code prepareSnapshotPreBarrier}, so it is the last row before the
 *       barrier and the scoring step handles it before Flink snapshots (the Python operator
 *       finishes its bundle there);
 *   <li>{@code end}: at the end of a bounded input.
 * </ul>
 *
 * <p>A mark reads {@code "<event> <lineage> <generation> <subtask> <checkpoint>"}. The lineage is
 * the job id of the first run, kept in state across restores; the generation counts restores.
 */
public final class CheckpointMarks extends AbstractStreamOperator<Row> implements OneInputStreamOperator<Row, Row>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    public static final String FIELD = "checkpoint_mark";
    private static final ListStateDescriptor<String> LINEAGE = new ListStateDescriptor<>("skewless-lineage", String.class);
    private final int width;
    private transient ListState<String> lineageState;
    private transient String lineage;
    private transient long generation;
    private transient long restoredFrom;

    private CheckpointMarks(int width) {
        this.width = width;
    }

    /** {@code rows}, typed by a {@link RowTypeInfo}, with the mark field appended. */
    public static DataStream<Row> apply(DataStream<Row> rows) {
        RowTypeInfo in = (RowTypeInfo) rows.getType();
        TypeInformation<?>[] types = Arrays.copyOf(in.getFieldTypes(), in.getArity() + 1);
        String[] names = Arrays.copyOf(in.getFieldNames(), in.getArity() + 1);
        types[in.getArity()] = Types.STRING;
        names[in.getArity()] = FIELD;
        return rows.transform("checkpoint marks", new RowTypeInfo(types, names), new CheckpointMarks(in.getArity()));
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        lineageState = context.getOperatorStateStore().getUnionListState(LINEAGE);
        lineage = null;
        generation = 0;
        for (String entry : lineageState.get()) {  // every subtask stored the same entry
            String[] parts = entry.split(" ");
            lineage = parts[0];
            generation = Math.max(generation, Long.parseLong(parts[1]) + 1);
        }
        restoredFrom = lineage != null && context.isRestored() ? context.getRestoredCheckpointId().orElse(-1) : -1;
        if (lineage == null) {
            lineage = getContainingTask().getEnvironment().getJobID().toString();
            generation = 0;
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        emit("open", restoredFrom);  // the operators after this one in the chain are open already
    }

    @Override
    public void processElement(StreamRecord<Row> record) {
        Row in = record.getValue();
        Row out = new Row(in.getKind(), width + 1);
        for (int i = 0; i < width; i++) {
            out.setField(i, in.getField(i));
        }
        output.collect(record.replace(out));
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        super.prepareSnapshotPreBarrier(checkpointId);
        emit("barrier", checkpointId);
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        lineageState.update(List.of(lineage + " " + generation));
    }

    @Override
    public void endInput() {
        emit("end", -1);
    }

    private void emit(String event, long checkpoint) {
        Row mark = new Row(width + 1);
        int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        mark.setField(width, event + " " + lineage + " " + generation + " " + subtask + " " + checkpoint);
        output.collect(new StreamRecord<>(mark));
    }
}
