package io.ballast.tests.net;

import io.ballast.tests.harness.BallastNodeProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URISyntaxException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Makes one TCP service inside a {@link NetworkLab} host (e.g. a node's admin gRPC API on the
 * host's lab address) reachable from the test JVM as {@code 127.0.0.1:<port>}, whatever the
 * partitions: lab addresses live only inside namespaces, so the root namespace cannot reach them.
 *
 * <p>Two hops, both plain Java, no extra tools: a small agent JVM started inside the host
 * ({@code ip netns exec}) listens on a Unix socket file and connects each accepted stream to the
 * target over the host's own network stack (its own address, so drop rules for <em>peers</em>
 * never apply); in the test JVM a loopback listener connects each accepted stream to that socket
 * file, which the shared filesystem makes reachable from the root namespace.
 */
public final class HostPortForward implements AutoCloseable {
    private final Process agent;
    private final ServerSocketChannel listener;
    private final Path socket;

    private HostPortForward(Process agent, ServerSocketChannel listener, Path socket) {
        this.agent = agent;
        this.listener = listener;
        this.socket = socket;
    }

    /** Forwards {@code 127.0.0.1:<port>} (root namespace) to {@code target:targetPort} as seen from host {@code host}. */
    public static HostPortForward open(NetworkLab lab, int host, Path socket, String target, int targetPort) {
        List<String> cmd = lab.hostCommand(host, List.of(BallastNodeProcess.javaBinary(),
                "-Xmx32m", "-Xss256k", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", classesDir().toString(), HostPortForward.class.getName(),
                socket.toString(), target, Integer.toString(targetPort)));
        Process p = null;
        try {
            p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String ready = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (!"listening".equals(ready)) {
                throw new IllegalStateException("forward agent in host " + host + " did not start: " + ready);
            }
            ServerSocketChannel server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            HostPortForward f = new HostPortForward(p, server, socket);
            Thread t = new Thread(f::acceptLoop, "forward-" + host);
            t.setDaemon(true);
            t.start();
            return f;
        } catch (IOException e) {
            if (p != null) {
                p.destroyForcibly();
            }
            throw new UncheckedIOException("could not start forward agent: " + cmd, e);
        }
    }

    /** {@code 127.0.0.1:<port>}, for gRPC targets and the CLI's {@code --admin}. */
    public String address() {
        try {
            InetSocketAddress a = (InetSocketAddress) listener.getLocalAddress();
            return a.getHostString() + ":" + a.getPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void acceptLoop() {
        while (listener.isOpen()) {
            try {
                SocketChannel in = listener.accept();
                SocketChannel out = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    out.connect(UnixDomainSocketAddress.of(socket));
                } catch (IOException e) {
                    in.close();
                    out.close();
                    continue;
                }
                splice(in, out);
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException ignored) {
            // best effort
        }
        try {
            agent.getOutputStream().close(); // the agent exits when its stdin closes
            if (!agent.waitFor(2, TimeUnit.SECONDS)) {
                agent.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (IOException ignored) {
            agent.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            agent.destroyForcibly();
        }
    }

    private static Path classesDir() {
        try {
            return Path.of(HostPortForward.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies both ways on two daemon threads; closing either side closes both. */
    static void splice(SocketChannel a, SocketChannel b) {
        for (SocketChannel[] dir : new SocketChannel[][] {{a, b}, {b, a}}) {
            Thread t = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                try {
                    while (dir[0].read(buf) >= 0) {
                        buf.flip();
                        while (buf.hasRemaining()) {
                            dir[1].write(buf);
                        }
                        buf.clear();
                    }
                } catch (IOException ignored) {
                    // either side went away
                } finally {
                    try {
                        dir[0].close();
                        dir[1].close();
                    } catch (IOException ignored) {
                        // already closed
                    }
                }
            }, "splice");
            t.setDaemon(true);
            t.start();
        }
    }

    // ---------------------------------------------------------------- the agent program

    /** {@code SOCKET TARGET_HOST TARGET_PORT}: runs inside a host until stdin closes. */
    public static void main(String[] args) throws IOException {
        Path path = Path.of(args[0]);
        InetSocketAddress target = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
        Files.deleteIfExists(path);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Thread acceptor = new Thread(() -> {
            while (true) {
                try {
                    SocketChannel in = server.accept();
                    SocketChannel out = SocketChannel.open();
                    try {
                        out.connect(target);
                        out.socket().setTcpNoDelay(true);
                    } catch (IOException e) {
                        in.close();
                        out.close();
                        continue;
                    }
                    splice(in, out);
                } catch (IOException e) {
                    return;
                }
            }
        }, "accept");
        acceptor.setDaemon(true);
        acceptor.start();
        new PrintStream(System.out, true, StandardCharsets.UTF_8).println("listening");
        while (System.in.read() >= 0) {
            // wait for stdin to close
        }
        Files.deleteIfExists(path);
        System.exit(0);
    }
}
