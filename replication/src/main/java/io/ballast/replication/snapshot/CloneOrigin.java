package io.ballast.replication.snapshot;

/**
 * Where a cloned volume's data came from, as its replicated log records it.
 *
 * @param source "volume@snapshot"
 * @param filled the fill from the source finished (a FILLED entry was applied); false while it runs
 *               or after it was interrupted (then it is redone by repeating the create)
 */
public record CloneOrigin(String source, boolean filled) {}
