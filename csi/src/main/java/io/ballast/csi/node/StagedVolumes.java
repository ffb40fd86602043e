package io.ballast.csi.node;

import io.ballast.csi.VolumeCapabilities;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What this node has staged and published, kept in one small file per volume under the node's
 * data directory, so a restarted node plugin answers repeated calls idempotently and knows what to
 * clean up. Written atomically (temp file + rename).
 *
 * <p>Threading: thread-safe; the Node service serialises operations on one volume.
 */
final class StagedVolumes {
    /** A staged volume: where, how, and its publications (target path -> read-only). */
    record Staged(String volumeId, Path stagingPath, boolean block, String fsType, boolean readonly, String mode,
            boolean encrypted, Map<String, Boolean> publications) {
        Staged withPublication(Path target, boolean ro) {
            Map<String, Boolean> p = new TreeMap<>(publications);
            p.put(target.toString(), ro);
            return new Staged(volumeId, stagingPath, block, fsType, readonly, mode, encrypted, p);
        }

        /** Staged as one of several writers (MULTI_NODE_MULTI_WRITER): attached shared. */
        boolean sharedWriters() {
            return VolumeCapabilities.sharedWriters(mode);
        }

        Staged withoutPublication(Path target) {
            Map<String, Boolean> p = new TreeMap<>(publications);
            p.remove(target.toString());
            return new Staged(volumeId, stagingPath, block, fsType, readonly, mode, encrypted, p);
        }
    }

    private final Path dir;
    private final Map<String, Staged> cache = new ConcurrentHashMap<>();

    StagedVolumes(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            try (var files = Files.list(dir)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".staged")).toList()) {
                    Staged s = read(f);
                    cache.put(s.volumeId(), s);
                }
            }
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot read the staged-volume records in " + dir + ": " + e.getMessage(), e);
        }
    }

    Optional<Staged> get(String volumeId) {
        return Optional.ofNullable(cache.get(volumeId));
    }

    /** Every staged volume. */
    java.util.List<Staged> all() {
        return java.util.List.copyOf(cache.values());
    }

    /** The staged volume published at {@code target}, if any. */
    Optional<Staged> publishedAt(Path target) {
        return cache.values().stream().filter(s -> s.publications().containsKey(target.toString())).findFirst();
    }

    void put(Staged s) {
        Properties p = new Properties();
        p.setProperty("volume", s.volumeId());
        p.setProperty("staging", s.stagingPath().toString());
        p.setProperty("block", Boolean.toString(s.block()));
        p.setProperty("fsType", s.fsType());
        p.setProperty("readonly", Boolean.toString(s.readonly()));
        p.setProperty("mode", s.mode());
        p.setProperty("encrypted", Boolean.toString(s.encrypted()));
        int i = 0;
        for (var e : s.publications().entrySet()) {
            p.setProperty("publication." + i, e.getKey());
            p.setProperty("publication." + i + ".readonly", e.getValue().toString());
            i++;
        }
        Path f = dir.resolve(s.volumeId() + ".staged");
        Path tmp = dir.resolve(s.volumeId() + ".staged.tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "Ballast CSI node: a staged volume");
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot record staged volume " + s.volumeId() + ": " + e.getMessage(), e);
        }
        try {
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot record staged volume " + s.volumeId() + ": " + e.getMessage(), e);
        }
        cache.put(s.volumeId(), s);
    }

    void remove(String volumeId) {
        try {
            Files.deleteIfExists(dir.resolve(volumeId + ".staged"));
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot remove the record of " + volumeId + ": " + e.getMessage(), e);
        }
        cache.remove(volumeId);
    }

    private static Staged read(Path f) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        Map<String, Boolean> pubs = new TreeMap<>();
        for (int i = 0; p.getProperty("publication." + i) != null; i++) {
            pubs.put(p.getProperty("publication." + i), Boolean.parseBoolean(p.getProperty("publication." + i + ".readonly")));
        }
        String volume = p.getProperty("volume");
        String staging = p.getProperty("staging");
        if (volume == null || staging == null) {
            throw new IOException(f + " is not a staged-volume record (no volume or staging path)");
        }
        return new Staged(volume, Path.of(staging), Boolean.parseBoolean(p.getProperty("block")),
                p.getProperty("fsType", ""), Boolean.parseBoolean(p.getProperty("readonly")), p.getProperty("mode", ""),
                Boolean.parseBoolean(p.getProperty("encrypted")), pubs);
    }
}
