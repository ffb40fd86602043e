package io.ballast.engine.nbd;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;

/** A thread-safe, map-backed {@link NbdExports}; names are listed in sorted order. */
public final class MapNbdExports implements NbdExports {
    private record Export(BlockVolume volume, boolean readOnly, String description) {
    }

    private final ConcurrentSkipListMap<String, Export> exports = new ConcurrentSkipListMap<>();

    /** Exports every volume read-write under its {@link BlockVolume#name()}. */
    public static MapNbdExports of(BlockVolume... volumes) {
        MapNbdExports result = new MapNbdExports();
        for (BlockVolume v : volumes) {
            result.add(v);
        }
        return result;
    }

    /** Adds {@code volume} read-write under its own name. */
    public MapNbdExports add(BlockVolume volume) {
        return add(volume.name(), volume, false, null);
    }

    /**
     * Adds or replaces an export.
     *
     * @throws BallastException INVALID_ARGUMENT when the name is empty, contains NUL or exceeds 4096 bytes
     */
    public MapNbdExports add(String name, BlockVolume volume, boolean readOnly, String description) {
        if (name.isEmpty() || name.indexOf('\0') >= 0
                || name.getBytes(StandardCharsets.UTF_8).length > NbdConstants.MAX_STRING_LENGTH) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT,
                    "NBD export name must be 1..4096 UTF-8 bytes without NUL: '" + name + "'");
        }
        exports.put(name, new Export(volume, readOnly, description));
        return this;
    }

    /** Removes an export; connections already using it keep their volume. */
    public boolean remove(String name) {
        return exports.remove(name) != null;
    }

    @Override
    public BlockVolume find(String name) {
        Export e = exports.get(name);
        return e == null ? null : e.volume();
    }

    @Override
    public Collection<String> names() {
        return List.copyOf(exports.keySet());
    }

    @Override
    public boolean isReadOnly(String name) {
        Export e = exports.get(name);
        return e != null && e.readOnly();
    }

    @Override
    public String description(String name) {
        Export e = exports.get(name);
        return e == null ? null : e.description();
    }
}
