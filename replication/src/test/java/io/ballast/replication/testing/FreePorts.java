package io.ballast.replication.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/**
 * Ports for test nodes: one nothing listens on now and that this JVM has not handed out before.
 * The kernel can give the same ephemeral port to two probes in a row once the first closed, and two
 * nodes configured with one port made Ratis terminate the test JVM (bind failure).
 *
 * <p>When the integration suite runs in several JVMs at once (failsafe's forks, which set
 * {@code ballast.fork} to the fork's number), each JVM takes its ports from a band of its own below
 * the kernel's ephemeral range, so two JVMs never hand out the same port and no outgoing connection
 * takes one meanwhile.
 */
public final class FreePorts {
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private FreePorts() {
    }

    private static final int BAND = 5000;
    private static final int FIRST_BAND_START = 12000; // fork 1: 12000-16999, fork 2: 17000-21999, ...

    public static synchronized int next() {
        Integer fork = Integer.getInteger("ballast.fork");
        return fork == null || fork < 1 || fork > 4 ? ephemeral() : inBand(FIRST_BAND_START + (fork - 1) * BAND);
    }

    private static int inBand(int start) {
        java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = start + r.nextInt(BAND);
            if (HANDED_OUT.contains(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket(port)) {
                HANDED_OUT.add(port);
                return port;
            } catch (IOException e) {
                // in use: another try
            }
        }
        throw new IllegalStateException("no free port in " + start + "-" + (start + BAND - 1) + " after 1000 tries");
    }

    private static int ephemeral() {
        for (int attempt = 0; ; attempt++) {
            try (ServerSocket s = new ServerSocket(0)) {
                if (HANDED_OUT.add(s.getLocalPort()) || attempt > 100) {
                    return s.getLocalPort();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("no free port: " + e.getMessage(), e);
            }
        }
    }
}
