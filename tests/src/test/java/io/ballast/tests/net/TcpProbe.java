package io.ballast.tests.net;

import io.ballast.tests.harness.BallastNodeProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A tiny TCP agent running inside one host of a {@link NetworkLab}, to check what the network
 * lets through: it runs an echo server on a port, and on command connects out to other hosts.
 * One small JVM per host, started once, so a reachability matrix costs milliseconds, not JVM
 * starts.
 *
 * <p>Started with {@link #start(NetworkLab, int, int)}; as a program ({@link #main}) it reads
 * commands from stdin, one per line, and answers each with one line, {@code ok} or
 * {@code fail <reason>}:
 * <ul>
 *   <li>{@code reach HOST PORT TIMEOUT_MS}: TCP connect only (any service), then close;</li>
 *   <li>{@code connect HOST PORT TIMEOUT_MS}: connect, send one byte, read its echo, close;</li>
 *   <li>{@code open NAME HOST PORT TIMEOUT_MS}: the same, but keep the connection as NAME;</li>
 *   <li>{@code echo NAME TIMEOUT_MS}: one byte round trip over the kept connection NAME.</li>
 * </ul>
 * It exits when stdin closes, so it never outlives the test JVM.
 */
public final class TcpProbe implements AutoCloseable {
    private final Process process;
    private final BufferedReader out;
    private final Writer in;
    private final int host;
    private final int port;

    private TcpProbe(Process process, int host, int port) {
        this.process = process;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.host = host;
        this.port = port;
    }

    /** Starts the agent in host {@code host}, its echo server listening on {@code port} (all addresses). */
    public static TcpProbe start(NetworkLab lab, int host, int port) {
        List<String> cmd = lab.hostCommand(host, List.of(BallastNodeProcess.javaBinary(),
                "-Xmx32m", "-Xss256k", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", classesDir().toString(), TcpProbe.class.getName(), Integer.toString(port)));
        try {
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            TcpProbe probe = new TcpProbe(p, host, port);
            String ready = probe.out.readLine();
            if (!("listening " + port).equals(ready)) {
                p.destroyForcibly();
                throw new IllegalStateException("probe in host " + host + " did not start: " + ready);
            }
            return probe;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start probe: " + cmd, e);
        }
    }

    private static Path classesDir() {
        try {
            return Path.of(TcpProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public int host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** {@code ok}, or {@code fail <reason>}: a full TCP connect plus one byte echoed. */
    public synchronized String connect(String address, int port, Duration timeout) {
        return command("connect " + address + " " + port + " " + timeout.toMillis());
    }

    /** {@code ok}, or {@code fail <reason>}: a bare TCP connect, to any kind of server. */
    public synchronized String reach(String address, int port, Duration timeout) {
        return command("reach " + address + " " + port + " " + timeout.toMillis());
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public boolean canConnect(String address, int port, Duration timeout) {
        return connect(address, port, timeout).equals("ok");
    }

    /** Opens a connection kept under {@code name}; {@code ok} or {@code fail <reason>}. */
    public synchronized String open(String name, String address, int port, Duration timeout) {
        return command("open " + name + " " + address + " " + port + " " + timeout.toMillis());
    }

    /** One byte round trip over kept connection {@code name}; {@code ok} or {@code fail <reason>}. */
    public synchronized String echo(String name, Duration timeout) {
        return command("echo " + name + " " + timeout.toMillis());
    }

    private String command(String line) {
        try {
            in.write(line + "\n");
            in.flush();
            String answer = out.readLine();
            if (answer == null) {
                throw new IllegalStateException("probe in host " + host + " exited (" + line + ")");
            }
            return answer;
        } catch (IOException e) {
            throw new UncheckedIOException("probe in host " + host + ": " + line, e);
        }
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException ignored) {
            // it is being killed anyway
        }
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- the agent program

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(port));
        Thread acceptor = new Thread(() -> acceptLoop(server), "accept");
        acceptor.setDaemon(true);
        acceptor.start();
        PrintStream reply = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        reply.println("listening " + port);
        Map<String, Socket> kept = new HashMap<>();
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = commands.readLine()) != null; ) {
            String[] w = line.trim().split("\\s+");
            try {
                switch (w[0]) {
                    case "reach" -> connectTo(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3])).close();
                    case "connect" -> {
                        try (Socket s = connectTo(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]))) {
                            roundTrip(s);
                        }
                    }
                    case "open" -> {
                        Socket s = connectTo(w[2], Integer.parseInt(w[3]), Integer.parseInt(w[4]));
                        roundTrip(s);
                        Socket old = kept.put(w[1], s);
                        if (old != null) {
                            old.close();
                        }
                    }
                    case "echo" -> {
                        Socket s = kept.get(w[1]);
                        if (s == null) {
                            throw new IOException("no connection named " + w[1]);
                        }
                        s.setSoTimeout(Integer.parseInt(w[2]));
                        roundTrip(s);
                    }
                    default -> throw new IOException("unknown command: " + line);
                }
                reply.println("ok");
            } catch (Exception e) {
                reply.println("fail " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        System.exit(0);
    }

    private static Socket connectTo(String host, int port, int timeoutMs) throws IOException {
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(host, port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            s.setTcpNoDelay(true);
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private static void roundTrip(Socket s) throws IOException {
        OutputStream o = s.getOutputStream();
        InputStream i = s.getInputStream();
        o.write('p');
        o.flush();
        if (i.read() != 'p') {
            throw new IOException("no echo");
        }
    }

    private static void acceptLoop(ServerSocket server) {
        while (true) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> echoLoop(s), "echo");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void echoLoop(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            InputStream i = s.getInputStream();
            OutputStream o = s.getOutputStream();
            for (int b; (b = i.read()) >= 0; ) {
                o.write(b);
                o.flush();
            }
        } catch (IOException ignored) {
            // peer went away
        }
    }
}
