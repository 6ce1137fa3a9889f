package skewless.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A string in keyed state as its UTF-8 bytes, written in one call.
 *
 * <p>Flink's own {@code StringSerializer} writes a string one character at a time. The heap state
 * backend writes every key of the state at every checkpoint (each tx_id the admission step
 * remembers for 30 days, again for each of its timers), through a stream whose every write is
 * synchronised: in a JFR profile of a backlog drain that was 70% of the checkpoint thread, which
 * held a quarter of the JVM's samples (docs/stack.md). Used for the keys of the keyed steps and the
 * strings in their state, not for rows: the Table API knows only Flink's own string type.
 *
 * <p>Format: the byte length + 1 as an unsigned varint (0 for null), then the bytes. State written
 * with Flink's serializer does not restore into this one, and the reverse.
 */
public final class Utf8String extends TypeSerializerSingleton<String> {
    private static final long serialVersionUID = 1L;
    public static final Utf8String INSTANCE = new Utf8String();
    public static final TypeInformation<String> TYPE = new Info();

    @Override
    public boolean isImmutableType() {
        return true;
    }

    @Override
    public String createInstance() {
        return "";
    }

    @Override
    public String copy(String from) {
        return from;
    }

    @Override
    public String copy(String from, String reuse) {
        return from;
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(String record, DataOutputView target) throws IOException {
        if (record == null) {
            writeLength(0, target);
            return;
        }
        byte[] bytes = record.getBytes(StandardCharsets.UTF_8);
        writeLength(bytes.length + 1, target);
        target.write(bytes);
    }

    @Override
    public String deserialize(DataInputView source) throws IOException {
        int length = readLength(source) - 1;
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        source.readFully(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public String deserialize(String reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        int length = readLength(source);
        writeLength(length, target);
        if (length > 1) {
            byte[] bytes = new byte[length - 1];
            source.readFully(bytes);
            target.write(bytes);  // not write(source, n): Flink's growable output does not grow for that one
        }
    }

    @Override
    public TypeSerializerSnapshot<String> snapshotConfiguration() {
        return new Snapshot();
    }

    private static void writeLength(int value, DataOutputView target) throws IOException {
        while ((value & ~0x7F) != 0) {
            target.writeByte((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        target.writeByte(value);
    }

    private static int readLength(DataInputView source) throws IOException {
        int value = 0;
        for (int shift = 0; ; shift += 7) {
            int b = source.readUnsignedByte();
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
    }

    /** What a restore checks the serializer against: this class, no parameters. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<String> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }

    /** The type to key a stream or declare state with, so Flink picks this serializer. */
    private static final class Info extends TypeInformation<String> {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return 1;
        }

        @Override
        public int getTotalFields() {
            return 1;
        }

        @Override
        public Class<String> getTypeClass() {
            return String.class;
        }

        @Override
        public boolean isKeyType() {
            return true;
        }

        @Override
        public TypeSerializer<String> createSerializer(SerializerConfig config) {
            return INSTANCE;
        }

        @Override
        public String toString() {
            return "String (UTF-8)";
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Info;
        }

        @Override
        public int hashCode() {
            return Info.class.hashCode();
        }

        @Override
        public boolean canEqual(Object other) {
            return other instanceof Info;
        }
    }
}
