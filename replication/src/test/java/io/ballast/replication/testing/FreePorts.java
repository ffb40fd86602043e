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
 */
public final class FreePorts {
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private FreePorts() {
    }

    public static synchronized int next() {
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
