package io.ballast.backup;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.BackupTarget;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A {@link BackupTarget} from the keys a Kubernetes Secret or a properties file holds:
 * {@value #ENDPOINT}, {@value #BUCKET}, {@value #REGION}, {@value #ACCESS_KEY},
 * {@value #SECRET_KEY} and optionally {@value #PREFIX}. Unknown keys are INVALID_ARGUMENT naming
 * them (a typo must not send backups to AWS's default endpoint).
 */
public final class BackupTargets {
    public static final String ENDPOINT = "endpoint";
    public static final String BUCKET = "bucket";
    public static final String REGION = "region";
    public static final String ACCESS_KEY = "accessKeyId";
    public static final String SECRET_KEY = "secretAccessKey";
    public static final String PREFIX = "prefix";

    private BackupTargets() {}

    public static BackupTarget of(Map<String, String> keys, String where) {
        Map<String, String> m = new TreeMap<>(keys);
        BackupTarget.Builder b = BackupTarget.newBuilder()
                .setEndpoint(m.getOrDefault(ENDPOINT, "").strip()).setBucket(m.getOrDefault(BUCKET, "").strip())
                .setRegion(m.getOrDefault(REGION, "us-east-1").strip())
                .setAccessKeyId(m.getOrDefault(ACCESS_KEY, "").strip())
                .setSecretAccessKey(m.getOrDefault(SECRET_KEY, "").strip())
                .setPrefix(m.getOrDefault(PREFIX, "").strip());
        TreeSet<String> unknown = new TreeSet<>(m.keySet());
        unknown.removeAll(java.util.List.of(ENDPOINT, BUCKET, REGION, ACCESS_KEY, SECRET_KEY, PREFIX));
        if (!unknown.isEmpty()) {
            throw invalid(where + ": unknown key(s) " + unknown + "; a backup target has " + ENDPOINT + ", " + BUCKET + ", "
                    + REGION + ", " + ACCESS_KEY + ", " + SECRET_KEY + " and " + PREFIX);
        }
        return check(b.build(), where);
    }

    /**
     * A target from CSI secrets (a Secret the StorageClass or VolumeSnapshotClass names): its keys
     * of a target, other keys ignored (one Secret may serve several purposes).
     */
    public static BackupTarget fromSecrets(Map<String, String> secrets, String where) {
        Map<String, String> m = new TreeMap<>(secrets);
        m.keySet().retainAll(java.util.List.of(ENDPOINT, BUCKET, REGION, ACCESS_KEY, SECRET_KEY, PREFIX));
        if (!m.containsKey(BUCKET)) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, where + " carry no '" + BUCKET + "': a backup needs "
                    + "a Secret with " + ENDPOINT + ", " + BUCKET + ", " + REGION + ", " + ACCESS_KEY + " and " + SECRET_KEY
                    + " (csi.storage.k8s.io/snapshotter-secret-name and -namespace in the VolumeSnapshotClass, "
                    + "csi.storage.k8s.io/provisioner-secret-name and -namespace in the StorageClass of a restore)");
        }
        return of(m, where);
    }

    /** A target from a properties file (the CLI's {@code --target FILE}). */
    public static BackupTarget fromFile(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw invalid("backup target file " + file + ": cannot read it: " + e.getMessage());
        }
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return of(m, "backup target file " + file);
    }

    /** INVALID_ARGUMENT unless the target names a bucket and credentials. */
    public static BackupTarget check(BackupTarget t, String where) {
        if (t.getBucket().isEmpty()) {
            throw invalid(where + ": '" + BUCKET + "' is required");
        }
        if (t.getAccessKeyId().isEmpty() || t.getSecretAccessKey().isEmpty()) {
            throw invalid(where + ": '" + ACCESS_KEY + "' and '" + SECRET_KEY + "' are required");
        }
        if (!t.getPrefix().isEmpty() && !t.getPrefix().endsWith("/")) {
            t = t.toBuilder().setPrefix(t.getPrefix() + "/").build();
        }
        return t;
    }

    /** For messages: where the bucket is, never the credentials. */
    public static String describe(BackupTarget t) {
        return "s3://" + t.getBucket() + "/" + t.getPrefix() + (t.getEndpoint().isEmpty() ? "" : " at " + t.getEndpoint());
    }

    private static BallastException invalid(String message) {
        return new BallastException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
