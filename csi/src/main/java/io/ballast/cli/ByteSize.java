package io.ballast.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses and prints byte sizes the way people type them: {@code 4096}, {@code 512M}, {@code 4G},
 * {@code 4GiB}, {@code 1T}. Suffixes are binary (K = 1024), as for disks in Kubernetes ("Gi").
 */
public final class ByteSize {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGTP]?)(I?B?)?", Pattern.CASE_INSENSITIVE);
    private static final String UNITS = "KMGTP";

    private ByteSize() {
    }

    /** @throws IllegalArgumentException with a message saying what a valid size looks like */
    public static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size; use bytes or a number with K, M, G, T or P (binary), e.g. 4G");
        }
        long value;
        try {
            value = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        String unit = m.group(2).toUpperCase(Locale.ROOT);
        int shift = unit.isEmpty() ? 0 : 10 * (UNITS.indexOf(unit) + 1);
        if (shift > 0 && Long.numberOfLeadingZeros(value) <= shift) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return value << shift;
    }

    /** The largest exact binary unit: 4294967296 -> "4GiB", 1536 -> "1536B"... 1.5KiB is printed as 1536B. */
    public static String format(long bytes) {
        int unit = -1;
        long v = bytes;
        while (v != 0 && (v & 1023) == 0 && unit < UNITS.length() - 1) {
            v >>= 10;
            unit++;
        }
        return unit < 0 ? bytes + "B" : v + String.valueOf(UNITS.charAt(unit)) + "iB";
    }

    /** For reading, not parsing: 70336151552 -> "65.5 GiB", 1073741824 -> "1 GiB", 512 -> "512 B". */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        int unit = 0;
        double v = bytes / 1024.0;
        while (v >= 1024 && unit < UNITS.length() - 1) {
            v /= 1024;
            unit++;
        }
        String n = String.format(Locale.ROOT, "%.1f", v);
        if (n.endsWith(".0")) {
            n = n.substring(0, n.length() - 2);
        }
        return n + " " + UNITS.charAt(unit) + "iB";
    }
}
