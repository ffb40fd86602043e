package io.ballast.engine.nbd;

import io.ballast.engine.volume.BlockVolume;
import java.util.Collection;

/**
 * The volumes an {@link NbdServer} offers, by export name. Consulted on every option that names an
 * export, so exports may come and go while the server runs; a connection keeps the volume it
 * negotiated. Implementations must be thread-safe (called from any event-loop thread).
 *
 * <p>The empty name is the default export: the only export when there is exactly one, otherwise
 * none (NBD_REP_ERR_UNKNOWN). {@link #resolve} implements that rule for the server.
 */
public interface NbdExports {

    /** The volume exported as {@code name}, or null when there is none. */
    BlockVolume find(String name);

    /** Every export name, in the order NBD_OPT_LIST reports them. */
    Collection<String> names();

    /** True when clients may only read {@code name} (NBD_FLAG_READ_ONLY, writes get EPERM). */
    default boolean isReadOnly(String name) {
        return false;
    }

    /** A human-readable description for NBD_INFO_DESCRIPTION, or null. */
    default String description(String name) {
        return null;
    }

    /** The canonical export name a client's requested name refers to, or null when none. */
    default String resolve(String requested) {
        if (!requested.isEmpty()) {
            return find(requested) != null ? requested : null;
        }
        Collection<String> all = names();
        if (all.size() != 1) {
            return null;
        }
        String only = all.iterator().next();
        return find(only) != null ? only : null;
    }
}
