package io.ballast.backup;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.v1.BackupTarget;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The objects of one backup target: put, get, exists, list and delete keys under the target's
 * prefix, with S3 errors turned into the domain's (UNAVAILABLE for a bucket that cannot be
 * reached, FAILED_PRECONDITION for refused credentials or a missing bucket, naming the target).
 * Path-style addressing, so S3-compatible servers without per-bucket DNS work too.
 *
 * <p>Threading: thread-safe (the SDK client is).
 */
public final class BackupBucket implements AutoCloseable {
    private final BackupTarget target;
    private final S3Client s3;

    public BackupBucket(BackupTarget target) {
        this.target = BackupTargets.check(target, "backup target");
        var b = S3Client.builder().httpClient(UrlConnectionHttpClient.create())
                .region(Region.of(this.target.getRegion().isEmpty() ? "us-east-1" : this.target.getRegion()))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(this.target.getAccessKeyId(), this.target.getSecretAccessKey())))
                .forcePathStyle(true)
                // SDK 2.30+ adds CRC trailers to every upload by default, which S3-compatible servers
                // (MinIO before 2025, Ceph RGW, S3Proxy) refuse; checksums only where S3 requires them.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        if (!this.target.getEndpoint().isEmpty()) {
            b.endpointOverride(URI.create(this.target.getEndpoint()));
        }
        this.s3 = b.build();
    }

    public String describe() {
        return BackupTargets.describe(target);
    }

    /** An object's key and when it was last written. */
    public record Entry(String key, long size, Instant lastModified) {}

    public void put(String key, byte[] bytes) {
        call("write " + key, () -> s3.putObject(r -> r.bucket(target.getBucket()).key(full(key)), RequestBody.fromBytes(bytes)));
    }

    public Optional<byte[]> get(String key) {
        try {
            return Optional.of(call("read " + key, () -> s3.getObjectAsBytes(r -> r.bucket(target.getBucket()).key(full(key)))
                    .asByteArray()));
        } catch (NotFound e) {
            return Optional.empty();
        }
    }

    public boolean exists(String key) {
        try {
            call("look up " + key, () -> s3.headObject(r -> r.bucket(target.getBucket()).key(full(key))));
            return true;
        } catch (NotFound e) {
            return false;
        }
    }

    /** Every object under {@code dir} (relative to the prefix, e.g. "backups/"), keys relative too. */
    public List<Entry> list(String dir) {
        List<Entry> out = new ArrayList<>();
        call("list " + dir, () -> {
            for (S3Object o : s3.listObjectsV2Paginator(r -> r.bucket(target.getBucket()).prefix(full(dir))).contents()) {
                out.add(new Entry(o.key().substring(target.getPrefix().length()), o.size(), o.lastModified()));
            }
            return null;
        });
        return out;
    }

    public void delete(String key) {
        call("delete " + key, () -> s3.deleteObject(r -> r.bucket(target.getBucket()).key(full(key))));
    }

    private String full(String key) {
        return target.getPrefix() + key;
    }

    private static final class NotFound extends RuntimeException {
        NotFound() {
            super(null, null, false, false);
        }
    }

    private <T> T call(String what, java.util.function.Supplier<T> op) {
        try {
            return op.get();
        } catch (NoSuchKeyException e) {
            throw new NotFound();
        } catch (S3Exception e) {
            if (e.statusCode() == 404 && !"NoSuchBucket".equals(code(e))) {
                throw new NotFound();
            }
            ErrorCode code = e.statusCode() >= 500 ? ErrorCode.UNAVAILABLE : ErrorCode.FAILED_PRECONDITION;
            throw new BallastException(code, "backup target " + describe() + ": cannot " + what + ": " + code(e) + " (HTTP "
                    + e.statusCode() + ")" + hint(e), e);
        } catch (SdkClientException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "backup target " + describe() + ": cannot " + what + ": "
                    + e.getMessage(), e);
        } catch (SdkException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "backup target " + describe() + ": " + what + ": " + e.getMessage(), e);
        }
    }

    private static String code(S3Exception e) {
        return e.awsErrorDetails() == null ? String.valueOf(e.statusCode()) : e.awsErrorDetails().errorCode();
    }

    private static String hint(S3Exception e) {
        return switch (code(e)) {
            case "NoSuchBucket" -> ": create the bucket first";
            case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied" -> ": check accessKeyId and secretAccessKey";
            default -> "";
        };
    }

    @Override
    public void close() {
        s3.close();
    }
}
