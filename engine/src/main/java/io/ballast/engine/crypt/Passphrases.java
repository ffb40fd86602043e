package io.ballast.engine.crypt;

import java.util.Arrays;
import java.util.Optional;

/**
 * The passphrases a volume is unlocked with: the current one, and during a rotation the one it
 * replaces (a volume still sealed only under {@code previous} gets a slot for {@code current} and
 * loses the old slot when it is next unlocked). Not a record: a record's toString would print them.
 */
public final class Passphrases {
    private final char[] current;
    private final char[] previous;

    private Passphrases(char[] current, char[] previous) {
        this.current = current;
        this.previous = previous;
    }

    public static Passphrases of(String current) {
        return of(current, null);
    }

    /** {@code previous}: null or empty when no rotation is under way. */
    public static Passphrases of(String current, String previous) {
        if (current == null || current.isEmpty()) {
            throw new IllegalArgumentException("an empty passphrase");
        }
        return new Passphrases(current.toCharArray(),
                previous == null || previous.isEmpty() ? null : previous.toCharArray());
    }

    char[] current() {
        return current;
    }

    Optional<char[]> previous() {
        return Optional.ofNullable(previous);
    }

    /** Overwrites the characters held here (a best effort: the JVM may have copied them). */
    public void wipe() {
        Arrays.fill(current, '\0');
        if (previous != null) {
            Arrays.fill(previous, '\0');
        }
    }

    @Override
    public String toString() {
        return "Passphrases[hidden]";
    }
}
