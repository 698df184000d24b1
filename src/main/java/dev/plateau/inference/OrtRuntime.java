package dev.plateau.inference;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;

/**
 * The process's one ONNX Runtime environment. Its global intra-op pool is shared by every model
 * that does not ask for threads of its own; spinning is off so an idle device idles at ~0 % CPU.
 */
public final class OrtRuntime {
    /**
     * The stack a thread that creates the environment needs. ONNX Runtime 1.29 recurses over the
     * process's command line when it starts (seen in a core dump: one native frame cycle per
     * character, ~250 bytes each), so a long command line (a hundred paths, a long class path)
     * overflowed the default 1 MiB stack and the JVM died of SIGSEGV without an error file. Such a
     * stack is only reserved, not committed, up front.
     */
    public static final long CALLER_STACK_BYTES = 256L << 20;

    private static OrtEnvironment environment;

    private OrtRuntime() {}

    /**
     * The shared environment, created on first use with {@code threads} global intra-op threads.
     * ONNX Runtime allows one environment per process, so later calls get the first one.
     */
    public static synchronized OrtEnvironment environment(int threads) {
        if (environment == null) {
            try (OrtEnvironment.ThreadingOptions options = new OrtEnvironment.ThreadingOptions()) {
                options.setGlobalIntraOpNumThreads(threads);
                options.setGlobalInterOpNumThreads(1);
                options.setGlobalSpinControl(false);
                environment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "plateau", options);
            } catch (OrtException e) {
                throw new InferenceException("cannot create the ONNX Runtime environment", e);
            }
        }
        return environment;
    }

    /** Closes what a failed load had opened; the load's own failure is the one reported. */
    static void closeAfterFailure(OrtSession session, OrtSession.SessionOptions options) {
        try {
            if (session != null) {
                session.close();
            }
        } catch (OrtException e) {
            // The load already failed; that failure is the one reported.
        } finally {
            if (options != null) {
                options.close();
            }
        }
    }

    /** Closes a session and its options after use; a failure names {@code what}. */
    static void close(OrtSession session, OrtSession.SessionOptions options, String what) {
        try {
            session.close();
        } catch (OrtException e) {
            throw new InferenceException(what + ": closing the session failed", e);
        } finally {
            options.close();
        }
    }

    /** The shape of a batch of one sample: {@code [1, shape...]}. */
    static long[] batchOfOne(java.util.List<Integer> shape) {
        long[] out = new long[shape.size() + 1];
        out[0] = 1;
        for (int i = 1; i < out.length; i++) {
            out[i] = shape.get(i - 1);
        }
        return out;
    }

    /** A native-order direct buffer ONNX Runtime can use without copying. */
    static java.nio.FloatBuffer direct(int floats) {
        return java.nio.ByteBuffer.allocateDirect(floats * Float.BYTES).order(java.nio.ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    /**
     * Threads of the sessions a fine-tune uses (embedding, the calibration's graphs, the check of a
     * candidate): one, which ONNX Runtime runs on the calling thread alone. A worker of the shared
     * pool would do the fine-tune's work at normal priority, beside inference, whatever the calling
     * thread's own priority ({@code tuning.IdleThread}).
     */
    public static final int BACKGROUND_THREADS = 1;

    /** Session options for a model: the shared pool, or {@code threads} of its own when > 0. */
    static OrtSession.SessionOptions sessionOptions(int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            if (threads > 0) {
                options.setIntraOpNumThreads(threads);
                options.setInterOpNumThreads(1);
                options.addConfigEntry("session.intra_op.allow_spinning", "0");
                options.addConfigEntry("session.inter_op.allow_spinning", "0");
            } else {
                options.disablePerSessionThreads();
            }
            return options;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }
}
