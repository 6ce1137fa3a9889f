package skewless.engine;

/**
 * One entity's timed values inside its longest window, kept in time order, with a start index
 * and a running sum per window.
 *
 * <p>A Flink POJO (public fields, no-arg constructor), so checkpoints serialise it without Kryo.
 * {@code starts[w]} is the first entry inside window w; entries before the smallest start are
 * dropped when the arrays are full. Values are integers (cents, or 0/1 for labels): sums are
 * exact under retraction.
 */
public class Buffer {
    public long[] times = new long[8];
    public long[] values = new long[8];
    public int size;
    public int[] starts;
    public long[] sums;

    public Buffer() {}

    static Buffer forWindows(int windows) {
        Buffer b = new Buffer();
        b.starts = new int[windows];
        b.sums = new long[windows];
        return b;
    }

    /**
     * Add a value where its time falls: at the end, unless it arrived after values with a later
     * time (labels are added on arrival, within the allowed lateness). One inserted before a
     * window's start is outside that window.
     */
    void insert(long time, long value) {
        if (size == times.length) {
            compact();
        }
        int at = after(time);
        System.arraycopy(times, at, times, at + 1, size - at);
        System.arraycopy(values, at, values, at + 1, size - at);
        times[at] = time;
        values[at] = value;
        size++;
        for (int w = 0; w < sums.length; w++) {
            if (at >= starts[w]) {
                sums[w] += value;
            } else {
                starts[w]++;
            }
        }
    }

    /** The index of the first value with a time after {@code time}: {@code size} when there is none. */
    int after(long time) {
        int end = size;
        while (end > 0 && times[end - 1] > time) {
            end--;
        }
        return end;
    }

    /** The sum of the values from index {@code from} to the end. */
    long sumFrom(int from) {
        long sum = 0;
        for (int i = from; i < size; i++) {
            sum += values[i];
        }
        return sum;
    }

    /** Drop entries older than {@code oldestKept} from window w. */
    void evict(int w, long oldestKept) {
        while (starts[w] < size && times[starts[w]] < oldestKept) {
            sums[w] -= values[starts[w]];
            starts[w]++;
        }
    }

    int count(int w) {
        return size - starts[w];
    }

    private void compact() {
        int dead = size;
        for (int start : starts) {
            dead = Math.min(dead, start);
        }
        int live = size - dead;
        boolean grow = live * 2 > times.length;
        long[] newTimes = grow ? new long[times.length * 2] : times;
        long[] newValues = grow ? new long[times.length * 2] : values;
        System.arraycopy(times, dead, newTimes, 0, live);
        System.arraycopy(values, dead, newValues, 0, live);
        times = newTimes;
        values = newValues;
        size = live;
        for (int w = 0; w < starts.length; w++) {
            starts[w] -= dead;
        }
    }
}
