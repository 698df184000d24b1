package dev.plateau.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How every kernel benchmark runs (JMH takes these from the superclass): time per call in µs
 * after 3 x 2 s of warm-up, 5 x 2 s measured, in one forked JVM with the unit's collector and
 * heap limit. A command line option (e.g. {@code -f 3}) overrides each.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseSerialGC", "-Xmx160m"})
public abstract class KernelBenchmark {
}
