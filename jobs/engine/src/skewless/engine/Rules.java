package skewless.engine;

import java.io.Serializable;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.json.JsonReadFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.DeserializationFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.json.JsonMapper;
import org.apache.flink.types.Row;

/**
 * The input rules of {@code udfs/validation.py}, applied to a raw message: bytes, then UTF-8, then
 * JSON, then each field in declaration order. The first rule broken is the verdict.
 *
 * <p>A valid message becomes the feature engine's event row ({@link Events}); a transaction's
 * amount is rounded half-up to cents, as Flink's DECIMAL(12, 2) did before.
 */
final class Rules implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = JsonMapper.builder()
        .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();

    /** Why a message was refused: the rule's name, a message for people, and the error class. */
    static final class Broken {
        final String rule;
        final String message;
        final String errorClass;

        Broken(String rule, String message, String errorClass) {
            this.rule = rule;
            this.message = message;
            this.errorClass = errorClass;
        }

        Broken(String rule, String message) {
            this(rule, message, "skewless.ValidationError");
        }
    }

    private static final class Field implements Serializable {
        private static final long serialVersionUID = 1L;
        final String name;
        final String type;
        final boolean required;
        final double low;
        final double high;
        final double below;
        final boolean future;

        Field(String line) {
            String[] p = line.trim().split(" ");
            name = p[0];
            type = p[1];
            required = p[2].equals("1");
            low = bound(p[3], Double.NEGATIVE_INFINITY);
            high = bound(p[4], Double.POSITIVE_INFINITY);
            below = bound(p[5], Double.NaN);
            future = p[6].equals("1");
        }

        private static double bound(String text, double none) {
            return text.equals("-") ? none : Double.parseDouble(text);
        }
    }

    final String kind;
    private final int maxBytes;
    private final long maxFutureMs;
    private final String pairA;
    private final String pairB;
    private final Field[] fields;
    private final Map<String, Integer> index = new HashMap<>();

    private Rules(String spec) {
        String[] lines = spec.split("\n");
        String[] head = lines[0].trim().split(" ");
        kind = head[0];
        maxBytes = Integer.parseInt(head[1]);
        maxFutureMs = Long.parseLong(head[2]);
        pairA = head[3].equals("-") ? null : head[3];
        pairB = head[4].equals("-") ? null : head[4];
        fields = new Field[lines.length - 1];
        for (int i = 1; i < lines.length; i++) {
            fields[i - 1] = new Field(lines[i]);
            index.put(fields[i - 1].name, i - 1);
        }
    }

    static Rules parse(String spec) {
        return new Rules(spec);
    }

    boolean isLabel() {
        return kind.equals("label");
    }

    /** The verdict on one message that arrived at {@code arrivalMs}: a {@link Broken} rule, or the engine's event row. */
    Object check(byte[] value, long arrivalMs) {
        if (value != null && value.length > maxBytes) {
            return new Broken("record.size", "the message has " + value.length + " bytes, more than " + maxBytes);
        }
        if (value == null || value.length == 0) {
            return new Broken("record.json", "the message is empty: expected a JSON object");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(value)).toString();
        } catch (CharacterCodingException e) {
            return new Broken("record.utf8", "the message is not valid UTF-8", e.getClass().getName());
        }
        JsonNode record;
        try {
            record = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return new Broken("record.json", "the message is not JSON: " + e.getOriginalMessage(), e.getClass().getName());
        }
        if (record == null || !record.isObject()) {
            return new Broken("record.json", "the message is JSON but not an object");
        }
        Object[] values = new Object[fields.length];
        for (int i = 0; i < fields.length; i++) {
            Object checked = field(fields[i], record.get(fields[i].name), arrivalMs);
            if (checked instanceof Broken) {
                return checked;
            }
            values[i] = checked;
        }
        if (pairA != null && (record.hasNonNull(pairA) != record.hasNonNull(pairB))) {
            return new Broken("location.pair", pairA + " and " + pairB + " are set together or not at all");
        }
        return isLabel() ? label(values) : transaction(values);
    }

    private Object value(Object[] values, String name) {
        return values[index.get(name)];
    }

    private Object field(Field f, JsonNode node, long arrivalMs) {
        if (node == null || node.isNull()) {
            return f.required ? new Broken(f.name + ".required", f.name + " is missing") : null;
        }
        if (f.type.equals("string")) {
            if (!node.isTextual()) {
                return new Broken(f.name + ".type", f.name + " must be a string");
            }
            String text = node.textValue().strip();
            if (text.isEmpty()) {
                return f.required ? new Broken(f.name + ".required", f.name + " is empty") : null;
            }
            return text;
        }
        if (!node.isNumber()) {
            return new Broken(f.name + ".type", f.name + " must be a number");
        }
        double number = node.doubleValue();
        boolean whole = node.isIntegralNumber() || (Double.isFinite(number) && number == Math.rint(number));
        if (f.type.equals("integer") && !whole && Double.isFinite(number)) {
            return new Broken(f.name + ".type", f.name + " must be a whole number");
        }
        double high = f.future ? (double) arrivalMs + maxFutureMs : f.high;
        boolean inRange = number >= f.low && number <= high && (Double.isNaN(f.below) || number < f.below);
        if (!inRange) {
            return new Broken(f.name + ".range", f.name + " " + node.asText() + " is outside "
                + "[" + f.low + ", " + (Double.isNaN(f.below) ? high + "]" : f.below + ")"));
        }
        if (f.type.equals("integer")) {
            return node.isIntegralNumber() ? node.longValue() : (long) number;
        }
        return f.name.equals("amount") ? node.decimalValue() : number;
    }

    private Row transaction(Object[] v) {
        Row event = new Row(Events.FEATURES);
        event.setField(Events.KIND, Events.TRANSACTION);
        event.setField(Events.TX_ID, value(v, "tx_id"));
        event.setField(Events.CC_NUM, value(v, "cc_num"));
        event.setField(Events.MERCHANT_ID, value(v, "merchant_id"));
        BigDecimal amount = (BigDecimal) value(v, "amount");
        event.setField(Events.CENTS, amount.setScale(2, RoundingMode.HALF_UP).unscaledValue().longValueExact());
        event.setField(Events.LAT, value(v, "lat"));
        event.setField(Events.LON, value(v, "lon"));
        event.setField(Events.TIME, value(v, "event_time"));
        return event;
    }

    /** A label is known from 1 ms after it arrived: one arriving with a transaction does not count for it. */
    private Row label(Object[] v) {
        Row event = new Row(Events.FEATURES);
        event.setField(Events.KIND, Events.LABEL);
        event.setField(Events.TX_ID, value(v, "tx_id"));
        event.setField(Events.MERCHANT_ID, value(v, "merchant_id"));
        event.setField(Events.IS_FRAUD, ((Long) value(v, "is_fraud")).intValue());
        event.setField(Events.TIME, (Long) value(v, "label_time") + 1);
        return event;
    }
}
