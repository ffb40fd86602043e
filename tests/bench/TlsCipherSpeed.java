import java.io.File;
import java.nio.ByteBuffer;
import java.util.Random;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import org.apache.ratis.thirdparty.io.netty.buffer.ByteBufAllocator;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.OpenSsl;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslContext;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslContextBuilder;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslProvider;

/**
 * How fast the TLS engines Ratis's Netty can use encrypt and decrypt on this machine, with no
 * network, Netty pipeline or gRPC around them: a client and a server engine of one provider
 * handshake in memory (TLS 1.3, with a node certificate of {@code ballast certs}), then the
 * client wraps 1 GiB in 16 KiB records (TLS's largest) and the server unwraps them, four times.
 * It bounds what TLS must cost per replicated byte, whatever the layers above it do.
 *
 * <pre>
 * bin/ballast certs ca --out /tmp/tcs/ca --cluster-id x
 * bin/ballast certs issue --ca /tmp/tcs/ca --name n1 --ip 127.0.0.1 --out /tmp/tcs/n1
 * $JAVA_HOME/bin/java -cp csi/target/ballast.jar tests/bench/TlsCipherSpeed.java /tmp/tcs/n1 [OPENSSL|JDK ...]
 * </pre>
 */
public final class TlsCipherSpeed {
    private static final int RECORD = 16384;

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: TlsCipherSpeed.java CERT_DIR (tls.crt, tls.key, ca.crt) [OPENSSL|JDK ...]");
            System.exit(2);
        }
        File dir = new File(args[0]);
        System.out.println("OpenSSL provider: " + (OpenSsl.isAvailable() ? OpenSsl.versionString() : "not available"));
        String[] providers = args.length > 1 ? java.util.Arrays.copyOfRange(args, 1, args.length) : new String[] {"OPENSSL", "JDK"};
        for (String name : providers) {
            SslProvider provider = SslProvider.valueOf(name);
            File crt = new File(dir, "tls.crt"), key = new File(dir, "tls.key"), ca = new File(dir, "ca.crt");
            SslContext server = SslContextBuilder.forServer(crt, key).trustManager(ca).sslProvider(provider)
                    .protocols("TLSv1.3").build();
            SslContext client = SslContextBuilder.forClient().keyManager(crt, key).trustManager(ca).sslProvider(provider)
                    .protocols("TLSv1.3").build();
            SSLEngine c = client.newEngine(ByteBufAllocator.DEFAULT, "127.0.0.1", 1);
            SSLEngine s = server.newEngine(ByteBufAllocator.DEFAULT);
            handshake(c, s);
            System.out.println(name + ": " + c.getSession().getProtocol() + " " + c.getSession().getCipherSuite());
            measure(name, c, s);
        }
    }

    private static void handshake(SSLEngine c, SSLEngine s) throws SSLException {
        ByteBuffer toServer = ByteBuffer.allocateDirect(1 << 17), toClient = ByteBuffer.allocateDirect(1 << 17);
        ByteBuffer app = ByteBuffer.allocateDirect(1 << 17), none = ByteBuffer.allocateDirect(0);
        c.beginHandshake();
        s.beginHandshake();
        for (int i = 0; i < 100; i++) {
            if (c.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING
                    && s.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING) {
                return;
            }
            step(c, none, toServer, toClient, app);
            step(s, none, toClient, toServer, app);
        }
        throw new SSLException("the in-memory handshake did not finish");
    }

    /** One turn of an engine: run its tasks, send what it has, take what the peer sent. */
    private static void step(SSLEngine e, ByteBuffer none, ByteBuffer out, ByteBuffer in, ByteBuffer app)
            throws SSLException {
        for (Runnable task; (task = e.getDelegatedTask()) != null; ) {
            task.run();
        }
        e.wrap(none, out);
        in.flip();
        if (in.hasRemaining()) {
            app.clear();
            e.unwrap(in, app);
        }
        in.compact();
    }

    private static void progress(SSLEngineResult r) throws SSLException {
        if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() == 0) {
            throw new SSLException("the engine made no progress: " + r);
        }
    }

    private static void measure(String name, SSLEngine c, SSLEngine s) throws SSLException {
        byte[] data = new byte[RECORD];
        new Random(1).nextBytes(data);
        ByteBuffer plain = ByteBuffer.allocateDirect(RECORD), wire = ByteBuffer.allocateDirect(4 * RECORD);
        ByteBuffer back = ByteBuffer.allocateDirect(4 * RECORD);
        long bytes = 1L << 30;
        for (int round = 1; round <= 4; round++) {
            long encrypt = 0, decrypt = 0, received = 0;
            for (long done = 0; done < bytes; done += RECORD) {
                plain.clear();
                plain.put(data).flip();
                wire.clear();
                long t0 = System.nanoTime();
                while (plain.hasRemaining()) { // an engine may cut a record shorter (the JDK's does)
                    progress(c.wrap(plain, wire));
                }
                long t1 = System.nanoTime();
                wire.flip();
                back.clear();
                while (wire.hasRemaining()) {
                    progress(s.unwrap(wire, back));
                }
                decrypt += System.nanoTime() - t1;
                encrypt += t1 - t0;
                received += back.position();
            }
            if (received != bytes) {
                throw new SSLException(received + " bytes came back of " + bytes);
            }
            System.out.printf("%s round %d: encrypt %.1f GiB/s, decrypt %.1f GiB/s (one core)%n", name, round,
                    1e9 / encrypt, 1e9 / decrypt);
        }
    }
}
