package skewless.engine;

/**
 * One entity's state: its transactions still inside the longest window, the labels still
 * inside the longest label window, running sums per window, and the previous transaction.
 *
 * <p>A Flink POJO (public fields, no-arg constructor), so checkpoints serialise it without Kryo.
 * Entries are appended in time order; {@code starts[w]} is the first entry inside window w,
 * and everything before the smallest start is dropped when it outweighs the live part.
 * Sums are in integer cents: exact under retraction, in any order of arrival.
 */
public class History {
    public long[] times = new long[8];
    public long[] cents = new long[8];
    public int size;
    public int[] starts;
    public long[] sums;

    public long[] labelTimes = new long[8];
    public int[] labelFrauds = new int[8];
    public int labelSize;
    public int[] labelStarts;
    public long[] labelFraudSums;

    public boolean hasPrevious;
    public long previousTime;
    public double previousLat = Double.NaN;
    public double previousLon = Double.NaN;

    public History() {}

    static History create(Spec spec) {
        History h = new History();
        h.starts = new int[spec.windowsMs.size()];
        h.sums = new long[spec.windowsMs.size()];
        h.labelStarts = new int[spec.rateWindowsMs.size()];
        h.labelFraudSums = new long[spec.rateWindowsMs.size()];
        return h;
    }

    void append(long time, long amountCents) {
        if (size == times.length) {
            compact();
        }
        times[size] = time;
        cents[size] = amountCents;
        size++;
        for (int w = 0; w < sums.length; w++) {
            sums[w] += amountCents;
        }
    }

    /** Drop entries older than {@code time - windowMs} from window w (the window is closed at both ends). */
    void evict(int w, long oldestKept) {
        while (starts[w] < size && times[starts[w]] < oldestKept) {
            sums[w] -= cents[starts[w]];
            starts[w]++;
        }
    }

    void appendLabel(long time, int fraud) {
        if (labelSize == labelTimes.length) {
            compactLabels();
        }
        labelTimes[labelSize] = time;
        labelFrauds[labelSize] = fraud;
        labelSize++;
        for (int w = 0; w < labelFraudSums.length; w++) {
            labelFraudSums[w] += fraud;
        }
    }

    void evictLabels(int w, long oldestKept) {
        while (labelStarts[w] < labelSize && labelTimes[labelStarts[w]] < oldestKept) {
            labelFraudSums[w] -= labelFrauds[labelStarts[w]];
            labelStarts[w]++;
        }
    }

    private void compact() {
        int dead = min(starts, size);
        int live = size - dead;
        long[] newTimes = live * 2 > times.length ? new long[times.length * 2] : times;
        long[] newCents = live * 2 > times.length ? new long[times.length * 2] : cents;
        System.arraycopy(times, dead, newTimes, 0, live);
        System.arraycopy(cents, dead, newCents, 0, live);
        times = newTimes;
        cents = newCents;
        size = live;
        for (int w = 0; w < starts.length; w++) {
            starts[w] -= dead;
        }
    }

    private void compactLabels() {
        int dead = min(labelStarts, labelSize);
        int live = labelSize - dead;
        long[] newTimes = live * 2 > labelTimes.length ? new long[labelTimes.length * 2] : labelTimes;
        int[] newFrauds = live * 2 > labelTimes.length ? new int[labelTimes.length * 2] : labelFrauds;
        System.arraycopy(labelTimes, dead, newTimes, 0, live);
        System.arraycopy(labelFrauds, dead, newFrauds, 0, live);
        labelTimes = newTimes;
        labelFrauds = newFrauds;
        labelSize = live;
        for (int w = 0; w < labelStarts.length; w++) {
            labelStarts[w] -= dead;
        }
    }

    private static int min(int[] values, int whenEmpty) {
        int m = whenEmpty;
        for (int v : values) {
            m = Math.min(m, v);
        }
        return m;
    }
}
