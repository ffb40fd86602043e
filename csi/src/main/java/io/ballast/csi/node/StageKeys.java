package io.ballast.csi.node;

import io.ballast.engine.crypt.Passphrases;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The passphrases of the encrypted volumes staged on this node, kept while they are staged so a
 * restarted node plugin can attach them again (kubelet does not stage a mounted volume twice). The
 * directory is meant to be on tmpfs ({@code /run}): a key survives a restart of the plugin, not of
 * the host, and never reaches a disk, least of all the data disk holding replicas. Root-only
 * (directory 0700, files 0600). Threading: the Node service serialises calls on one volume.
 */
final class StageKeys {
    private static final Logger LOG = LoggerFactory.getLogger(StageKeys.class);

    private final Path dir;

    StageKeys(Path dir) {
        this.dir = dir;
    }

    void put(String volumeId, String passphrase, String previous) {
        Properties p = new Properties();
        p.setProperty(StageEncryption.PASSPHRASE, passphrase);
        if (previous != null && !previous.isEmpty()) {
            p.setProperty(StageEncryption.PREVIOUS_PASSPHRASE, previous);
        }
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            Path tmp = dir.resolve(volumeId + ".key.tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                p.store(w, null);
            }
            Files.move(tmp, file(volumeId), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.IO_ERROR, "cannot keep the key of volume " + volumeId + " in " + dir
                    + " for restarts of this node plugin: " + e.getMessage(), e);
        }
    }

    /** The passphrases kept for {@code volumeId}, if any. */
    Optional<Passphrases> get(String volumeId) {
        Path f = file(volumeId);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            LOG.warn("cannot read the kept key of volume {} ({}): {}", volumeId, f, e.getMessage());
            return Optional.empty();
        }
        String pass = p.getProperty(StageEncryption.PASSPHRASE, "");
        return pass.isEmpty() ? Optional.empty()
                : Optional.of(Passphrases.of(pass, p.getProperty(StageEncryption.PREVIOUS_PASSPHRASE)));
    }

    void remove(String volumeId) {
        try {
            Files.deleteIfExists(file(volumeId));
        } catch (IOException e) {
            LOG.warn("cannot remove the kept key of volume {} from {}: {}", volumeId, dir, e.getMessage());
        }
    }

    private Path file(String volumeId) {
        return dir.resolve(volumeId + ".key");
    }
}
