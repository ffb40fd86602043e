package io.ballast.backup;

import io.ballast.proto.v1.BackupTarget;
import java.net.URI;
import java.nio.file.Path;
import java.util.Properties;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3 server on loopback for the backup tests: S3Proxy (the S3 REST API, AWS signature v4
 * checked) over jclouds' filesystem blob store in a test directory. Not a mock of the client: the
 * SDK talks HTTP to it as to any S3-compatible server.
 */
public final class S3Server implements AutoCloseable {
    public static final String ACCESS_KEY = "ballast-test";
    public static final String SECRET_KEY = "ballast-test-secret";

    private final BlobStoreContext context;
    private final S3Proxy proxy;

    public S3Server(Path dir) throws Exception {
        Properties p = new Properties();
        p.setProperty("jclouds.filesystem.basedir", dir.toString());
        context = ContextBuilder.newBuilder("filesystem").credentials("identity", "credential").overrides(p)
                .buildView(BlobStoreContext.class);
        proxy = S3Proxy.builder().blobStore(context.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY).build();
        proxy.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("S3Proxy did not start: " + proxy.getState());
            }
            Thread.sleep(10);
        }
    }

    /** Creates {@code bucket} and returns a target for it. */
    public BackupTarget bucket(String bucket) {
        context.getBlobStore().createContainerInLocation(null, bucket);
        return BackupTarget.newBuilder().setEndpoint("http://127.0.0.1:" + proxy.getPort()).setBucket(bucket)
                .setRegion("us-east-1").setAccessKeyId(ACCESS_KEY).setSecretAccessKey(SECRET_KEY).build();
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
        context.close();
    }
}
