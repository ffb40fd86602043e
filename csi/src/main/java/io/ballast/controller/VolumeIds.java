package io.ballast.controller;

import io.ballast.engine.store.NodeDirectory;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The one place that turns a creator's name (CSI CreateVolume / CreateSnapshot name) into a
 * Ballast id. Names that are already valid Ballast names (Kubernetes' {@code pvc-<uuid>} and
 * {@code snapshot-<uuid>} are) are kept, so ids read well in logs and on disk; anything else
 * becomes a prefix plus a SHA-256 of the name (same name, same id: idempotent retries work).
 */
public final class VolumeIds {
    private static final int MAX_KEPT = 100;

    private VolumeIds() {}

    public static String volumeId(String name) {
        return idOf("vol-", name);
    }

    public static String snapshotId(String name) {
        return idOf("snap-", name);
    }

    private static String idOf(String prefix, String name) {
        if (name.length() <= MAX_KEPT && NodeDirectory.VOLUME_NAME.matcher(name).matches()) {
            return name;
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return prefix + HexFormat.of().formatHex(h, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
