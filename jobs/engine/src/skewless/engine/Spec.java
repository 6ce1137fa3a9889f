package skewless.engine;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * One entity's features, as compiled by jobs/feature_spec.py from udfs/features.py.
 *
 * <p>The text form is one line per item, tokens separated by spaces:
 * {@code key <field>}, {@code window <out> <count|sum|mean|max> <window_ms>},
 * {@code prev <out> <km|seconds|kmh>}, {@code ratio <out> <denominator out>},
 * {@code rate <out> <window_ms>}, {@code calendar <out> <hour_of_day|is_night|is_weekend> <first> <last>},
 * {@code place <out> <window_ms>} (km from the entity's mean location over the window; {@code a} is
 * the index of that window in {@link #placeWindowsMs}).
 * {@code out} is the feature's position in the output row's feature block.
 */
public final class Spec implements Serializable {
    private static final long serialVersionUID = 1L;

    /** An aggregate over one of the distinct windows of {@link #windowsMs}. */
    public static final class Agg implements Serializable {
        private static final long serialVersionUID = 1L;
        final int out;
        final String how;
        final int window;

        Agg(int out, String how, int window) {
            this.out = out;
            this.how = how;
            this.window = window;
        }
    }

    /** A feature with an output position, a kind and up to two numbers. */
    public static final class Item implements Serializable {
        private static final long serialVersionUID = 1L;
        final int out;
        final String kind;
        final long a;
        final long b;

        Item(int out, String kind, long a, long b) {
            this.out = out;
            this.kind = kind;
            this.a = a;
            this.b = b;
        }
    }

    int keyField = -1;
    final List<Long> windowsMs = new ArrayList<>();
    final List<Agg> aggs = new ArrayList<>();
    final List<Item> prevs = new ArrayList<>();
    final List<Item> ratios = new ArrayList<>();
    final List<Long> rateWindowsMs = new ArrayList<>();
    final List<Integer> rateOuts = new ArrayList<>();
    final List<Item> calendars = new ArrayList<>();
    final List<Long> placeWindowsMs = new ArrayList<>();
    final List<Item> places = new ArrayList<>();

    public static Spec parse(String text) {
        Spec spec = new Spec();
        for (String line : text.split("\n")) {
            String[] t = line.trim().split("\\s+");
            if (t.length == 0 || t[0].isEmpty()) {
                continue;
            }
            switch (t[0]) {
                case "key":
                    spec.keyField = Integer.parseInt(t[1]);
                    break;
                case "window":
                    spec.aggs.add(new Agg(Integer.parseInt(t[1]), t[2], indexIn(spec.windowsMs, Long.parseLong(t[3]))));
                    break;
                case "prev":
                    spec.prevs.add(new Item(Integer.parseInt(t[1]), t[2], 0, 0));
                    break;
                case "ratio":
                    spec.ratios.add(new Item(Integer.parseInt(t[1]), "ratio", Long.parseLong(t[2]), 0));
                    break;
                case "rate":
                    spec.rateOuts.add(Integer.parseInt(t[1]));
                    spec.rateWindowsMs.add(Long.parseLong(t[2]));
                    break;
                case "place":
                    spec.places.add(new Item(Integer.parseInt(t[1]), "place", indexIn(spec.placeWindowsMs, Long.parseLong(t[2])), 0));
                    break;
                case "calendar":
                    spec.calendars.add(new Item(Integer.parseInt(t[1]), t[2], Long.parseLong(t[3]), Long.parseLong(t[4])));
                    break;
                default:
                    throw new IllegalArgumentException("unknown spec line: " + line);
            }
        }
        if (spec.keyField < 0) {
            throw new IllegalArgumentException("spec without a key line: " + text);
        }
        return spec;
    }

    /** The position of a window among the distinct ones, added if new: features of one window share its sums. */
    private static int indexIn(List<Long> windows, long windowMs) {
        int i = windows.indexOf(windowMs);
        if (i >= 0) {
            return i;
        }
        windows.add(windowMs);
        return windows.size() - 1;
    }

    boolean usesLabels() {
        return !rateOuts.isEmpty();
    }

    boolean usesHistory() {
        return !windowsMs.isEmpty();
    }

    boolean usesPlaces() {
        return !placeWindowsMs.isEmpty();
    }
}
