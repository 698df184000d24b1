package dev.plateau.model;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Float32 {@code TensorProto} contents, read from and written back in the form the file uses. */
final class FloatTensors {
    private static final int FLOAT = OnnxMl.TensorProto.DataType.FLOAT.getNumber();

    private FloatTensors() {}

    /**
     * The values of {@code t}, from {@code raw_data} (little-endian) or {@code float_data}.
     *
     * @param what how errors name the tensor, e.g. "initializer 'W' of node 'fc' (Gemm)"
     */
    static float[] read(OnnxMl.TensorProto t, String what) {
        if (t.getDataType() != FLOAT) {
            OnnxMl.TensorProto.DataType type = OnnxMl.TensorProto.DataType.forNumber(t.getDataType());
            throw new GraphException("head: " + what + " has data type " + (type == null ? t.getDataType() : type)
                    + "; only FLOAT is supported");
        }
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
            throw new GraphException("head: " + what + " is stored as external data; only weights inside the"
                    + " model file are supported");
        }
        long n = elements(t.getDimsList());
        if (t.hasRawData()) {
            ByteString raw = t.getRawData();
            if (raw.size() != n * Float.BYTES) {
                throw new GraphException("head: " + what + " has " + raw.size() + " bytes of raw data, expected "
                        + n * Float.BYTES + " for dims " + t.getDimsList());
            }
            float[] values = new float[(int) n];
            raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            return values;
        }
        if (t.getFloatDataCount() != n) {
            throw new GraphException("head: " + what + " has " + t.getFloatDataCount() + " float values, expected "
                    + n + " for dims " + t.getDimsList());
        }
        float[] values = new float[(int) n];
        for (int i = 0; i < values.length; i++) {
            values[i] = t.getFloatData(i);
        }
        return values;
    }

    /** A copy of {@code original} holding {@code values}, in the same storage field and dims. */
    static OnnxMl.TensorProto write(OnnxMl.TensorProto original, float[] values) {
        if (values.length != elements(original.getDimsList())) {
            throw new IllegalArgumentException("tensor '" + original.getName() + "': " + values.length
                    + " values for dims " + original.getDimsList());
        }
        OnnxMl.TensorProto.Builder b = original.toBuilder();
        if (original.hasRawData()) {
            b.setRawData(littleEndian(values));
        } else {
            b.clearFloatData();
            for (float v : values) {
                b.addFloatData(v);
            }
        }
        return b.build();
    }

    /** A new float initializer with raw little-endian data. */
    static OnnxMl.TensorProto create(String name, List<Long> dims, float[] values) {
        return OnnxMl.TensorProto.newBuilder().setName(name).setDataType(FLOAT).addAllDims(dims)
                .setRawData(littleEndian(values)).build();
    }

    static long elements(List<Long> dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    private static ByteString littleEndian(float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return ByteString.copyFrom(buffer.array());
    }
}
