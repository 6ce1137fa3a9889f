package skewless.engine;

/**
 * One entity's state: its transactions inside the longest window, its labels inside the longest
 * label window, the locations of its located transactions (micro-degrees, exact sums) inside the
 * longest place window, and its previous transaction. A Flink POJO, like {@link Buffer}.
 */
public class History {
    public Buffer transactions;
    public Buffer labels;
    public Buffer latitudes;
    public Buffer longitudes;
    public boolean hasPrevious;
    public long previousTime;
    public double previousLat = Double.NaN;
    public double previousLon = Double.NaN;

    public History() {}

    static History create(Spec spec) {
        History h = new History();
        h.transactions = Buffer.forWindows(spec.windowsMs.size());
        h.labels = Buffer.forWindows(spec.rateWindowsMs.size());
        h.latitudes = Buffer.forWindows(spec.placeWindowsMs.size());
        h.longitudes = Buffer.forWindows(spec.placeWindowsMs.size());
        return h;
    }
}
