package io.ballast.daemon;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The catalog's members from a file an admin (or a configuration tool) keeps: one
 * {@code NODE=HOST:PORT} per line, {@code #} comments. Read anew on every call, so replacing a
 * lost member is an edit of this file on the nodes; the catalog's leader follows it.
 */
public final class FileCatalogMembers implements CatalogMemberSource {
    private final Path file;

    public FileCatalogMembers(Path file) {
        this.file = file;
    }

    @Override
    public Map<String, String> members() {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new BallastException(ErrorCode.UNAVAILABLE, "cannot read the catalog member file " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        int n = 0;
        for (String line : text.split("\n")) {
            n++;
            String entry = line.replaceFirst("#.*", "").trim();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0 || entry.lastIndexOf(':') < eq) {
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, file + " line " + n + ": '" + entry
                        + "' is not NODE=HOST:PORT");
            }
            out.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
        return out;
    }

    @Override
    public String describe() {
        return "member file " + file;
    }
}
