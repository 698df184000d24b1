package dev.plateau.daemon;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import org.tinylog.Logger;

/**
 * POSIX signals as callbacks. Java 17 has no supported signal API; {@code sun.misc.Signal} in
 * the {@code jdk.unsupported} module is what JVM daemons use. It is reached by reflection
 * because the build treats javac's "internal proprietary API" warning as an error, and that
 * warning cannot be suppressed.
 */
public final class Signals {
    private Signals() {}

    /**
     * Runs {@code action} on the JVM's signal thread each time signal {@code name} (e.g. "HUP")
     * arrives, instead of the JVM's default (for TERM, INT and HUP: shutting down).
     *
     * @return false when this JVM has no {@code sun.misc.Signal}; the default stays
     */
    public static boolean handle(String name, Runnable action) {
        try {
            Class<?> signalType = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Object signal = signalType.getConstructor(String.class).newInstance(name);
            Object handler = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handlerType},
                    (proxy, method, args) -> switch (method.getName()) {
                        case "handle" -> {
                            action.run();
                            yield null;
                        }
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        default -> "SIG" + name + " handler";
                    });
            Method handle = signalType.getMethod("handle", signalType, handlerType);
            handle.invoke(null, signal, handler);
            return true;
        } catch (ClassNotFoundException | NoSuchMethodException | InstantiationException | IllegalAccessException
                 | InvocationTargetException e) {
            Logger.warn("cannot handle SIG{} on this JVM ({}); the JVM's default applies", name, e.toString());
            return false;
        }
    }
}
