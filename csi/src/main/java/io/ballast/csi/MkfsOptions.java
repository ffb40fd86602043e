package io.ballast.csi;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The StorageClass parameter {@value #KEY}: extra arguments for mkfs.ext4 / mkfs.xfs when the Node
 * service formats a volume on first stage (e.g. {@code -m 0 -L data}, {@code -i size=512}). Checked
 * by the controller at CreateVolume and again by the node (it arrives in the volume context): words
 * of letters, digits and {@code = , . _ : / + -} only, at most {@value #MAX_WORDS}. mkfs runs without
 * a shell, so this is about refusing nonsense early with a clear message, not about quoting.
 */
public final class MkfsOptions {
    public static final String KEY = "mkfsOptions";
    static final int MAX_WORDS = 16;
    private static final Pattern WORD = Pattern.compile("[A-Za-z0-9=,._:/+-]{1,128}");

    private MkfsOptions() {
    }

    /** The words of {@code value} ("" gives none); INVALID_ARGUMENT naming {@code field} when malformed. */
    public static List<String> parse(String value, String field) {
        String v = value.strip();
        if (v.isEmpty()) {
            return List.of();
        }
        List<String> words = Arrays.asList(v.split("\\s+"));
        if (words.size() > MAX_WORDS) {
            throw invalid(field + ": " + KEY + " has " + words.size() + " words; at most " + MAX_WORDS);
        }
        for (String w : words) {
            if (!WORD.matcher(w).matches()) {
                throw invalid(field + ": " + KEY + " word '" + w + "' has characters other than letters, digits and = , . _ : / + -");
            }
        }
        if (!words.get(0).startsWith("-")) {
            throw invalid(field + ": " + KEY + " '" + v + "' must start with an option (-...): the device is Ballast's to name");
        }
        return List.copyOf(words);
    }

    private static BallastException invalid(String message) {
        return new BallastException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
