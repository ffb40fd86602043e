package io.ballast.cluster;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The one place that mints Ballast ids for volumes and snapshots. An id is the creator's name
 * (cut to what a Ballast name may hold) plus a random suffix, minted once when the record is first
 * written to the catalog; retries of the same CreateVolume find the record by name and reuse its id.
 * So a name deleted and created again gets a new id, and with it a new Raft group and new replica
 * files: a leftover replica of the old volume (on a node that was down during the delete) can
 * never be mistaken for the new one.
 */
public final class VolumeIds {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int MAX_PREFIX = 100;

    private VolumeIds() {}

    public static String newVolumeId(String name) {
        return mint("vol", name);
    }

    public static String newSnapshotId(String name) {
        return mint("snap", name);
    }

    private static String mint(String fallback, String name) {
        StringBuilder prefix = new StringBuilder();
        for (char c : name.toCharArray()) {
            if (prefix.length() == MAX_PREFIX) {
                break;
            }
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
            prefix.append(ok ? c : '_');
        }
        if (prefix.isEmpty() || !Character.isLetterOrDigit(prefix.charAt(0))) {
            prefix.insert(0, fallback + "-");
        }
        byte[] suffix = new byte[4];
        RANDOM.nextBytes(suffix);
        return prefix + "-" + HexFormat.of().formatHex(suffix);
    }
}
