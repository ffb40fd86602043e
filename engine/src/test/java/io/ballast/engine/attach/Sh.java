package io.ballast.engine.attach;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Runs host tools for privileged tests; output (stdout + stderr) is returned and shown on failure. */
final class Sh {
    private Sh() {
    }

    record Result(int exit, String output) {
    }

    static Result exec(int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        // Read while waiting: a chatty tool must not block on a full pipe.
        var buffer = new ByteArrayOutputStream();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (var out = p.getInputStream()) {
                out.transferTo(buffer);
            } catch (IOException ignored) {
                // the process was killed
            }
        });
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
            p.waitFor();
        }
        reader.join(5000);
        String output;
        synchronized (buffer) {
            output = buffer.toString(StandardCharsets.UTF_8);
        }
        assertTrue(done, () -> "timed out after " + timeoutSeconds + " s: " + String.join(" ", command) + "\n" + output);
        return new Result(p.exitValue(), output);
    }

    /** Runs {@code command} and asserts it exits 0. */
    static String run(int timeoutSeconds, String... command) throws IOException, InterruptedException {
        Result r = exec(timeoutSeconds, command);
        assertEquals(0, r.exit(), () -> String.join(" ", command) + " exited " + r.exit() + ":\n" + r.output());
        return r.output();
    }
}
