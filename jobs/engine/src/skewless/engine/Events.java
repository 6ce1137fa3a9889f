package skewless.engine;

import java.io.Serializable;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.types.Row;

/**
 * The row every stage reads and writes: the event's fields, then one slot per feature.
 *
 * <p>Transactions and labels share it (a label fills {@code tx_id}, {@code merchant_id},
 * {@code time} = label time + 1 ms, and {@code is_fraud}), so one keyed stream can carry both.
 */
final class Events {
    static final int KIND = 0;
    static final int TX_ID = 1;
    static final int CC_NUM = 2;
    static final int MERCHANT_ID = 3;
    static final int TIME = 4;
    static final int CENTS = 5;
    static final int LAT = 6;
    static final int LON = 7;
    static final int IS_FRAUD = 8;
    static final int FEATURES = 9;

    static final int TRANSACTION = 0;
    static final int LABEL = 1;

    private Events() {}

    static TypeInformation<Row> wideType(int features) {
        TypeInformation<?>[] types = new TypeInformation<?>[FEATURES + features];
        types[KIND] = Types.INT;
        types[TX_ID] = Types.STRING;
        types[CC_NUM] = Types.STRING;
        types[MERCHANT_ID] = Types.STRING;
        types[TIME] = Types.LONG;
        types[CENTS] = Types.LONG;
        types[LAT] = Types.DOUBLE;
        types[LON] = Types.DOUBLE;
        types[IS_FRAUD] = Types.INT;
        for (int i = 0; i < features; i++) {
            types[FEATURES + i] = Types.DOUBLE;
        }
        return Types.ROW(types);
    }

    /** The named, typed feature columns of the output row: "name:long,name:double,..." in declaration order. */
    static final class Outputs implements Serializable {
        private static final long serialVersionUID = 1L;
        static final String[] KEYS = {"tx_id", "cc_num", "merchant_id", "event_time", "amount"};
        final String[] names;
        final boolean[] integer;

        Outputs(String text) {
            String[] columns = text.split(",");
            names = new String[columns.length];
            integer = new boolean[columns.length];
            for (int i = 0; i < columns.length; i++) {
                String[] nameAndType = columns[i].split(":");
                names[i] = nameAndType[0];
                integer[i] = nameAndType[1].equals("long");
            }
        }

        int size() {
            return names.length;
        }

        TypeInformation<Row> type() {
            String[] all = new String[KEYS.length + names.length];
            TypeInformation<?>[] types = new TypeInformation<?>[all.length];
            TypeInformation<?>[] keyTypes = {Types.STRING, Types.STRING, Types.STRING, Types.LONG, Types.DOUBLE};
            for (int i = 0; i < KEYS.length; i++) {
                all[i] = KEYS[i];
                types[i] = keyTypes[i];
            }
            for (int i = 0; i < names.length; i++) {
                all[KEYS.length + i] = names[i];
                types[KEYS.length + i] = integer[i] ? Types.LONG : Types.DOUBLE;
            }
            return Types.ROW_NAMED(all, types);
        }
    }
}
