package dev.plateau.sensor;

/** Told of a source's drops at most once per report period (see {@link InputQueue#REPORT_PERIOD}), on the source's thread. */
@FunctionalInterface
public interface DropListener {
    /** @param since how many were dropped since the last report; {@code stats} has the totals */
    void dropped(QueueStats stats, long since);
}
