package skewless.engine;

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

    static TypeInformation<Row> outputType(int features) {
        String[] names = new String[5 + features];
        TypeInformation<?>[] types = new TypeInformation<?>[5 + features];
        String[] head = {"tx_id", "cc_num", "merchant_id", "event_time", "amount"};
        TypeInformation<?>[] headTypes = {Types.STRING, Types.STRING, Types.STRING, Types.LONG, Types.DOUBLE};
        for (int i = 0; i < 5; i++) {
            names[i] = head[i];
            types[i] = headTypes[i];
        }
        for (int i = 0; i < features; i++) {
            names[5 + i] = "f" + i;
            types[5 + i] = Types.DOUBLE;
        }
        return Types.ROW_NAMED(names, types);
    }
}
