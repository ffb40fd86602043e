package io.ballast.csi.server;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import io.ballast.proto.csi.v1.Csi;
import java.util.List;

/**
 * Makes CSI messages safe to log: a copy with every secret field cleared, found by protobuf
 * reflection, so a field added to the spec later is covered without touching this class. A field is
 * secret when the spec marks it {@code (csi.v1.csi_secret) = true}, or, as a second line of defence
 * for messages that are not ours, when it is called {@code secrets}. Nested messages are cleaned
 * too. Stateless, thread-safe.
 */
public final class Secrets {
    /** Longest request summary logged: enough for ids, names and sizes, not for a wall of capabilities. */
    static final int MAX_SUMMARY = 400;

    private Secrets() {
    }

    /** The message without its secrets (the same instance when it has none). */
    public static Message strip(Message message) {
        Message.Builder copy = null;
        for (var entry : message.getAllFields().entrySet()) {
            FieldDescriptor field = entry.getKey();
            if (secret(field)) {
                copy = copy == null ? message.toBuilder() : copy;
                copy.clearField(field);
            } else if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !field.isMapField()) {
                copy = stripNested(message, field, entry.getValue(), copy);
            }
        }
        return copy == null ? message : copy.build();
    }

    private static Message.Builder stripNested(Message message, FieldDescriptor field, Object value, Message.Builder copy) {
        if (field.isRepeated()) {
            List<?> items = (List<?>) value;
            for (int i = 0; i < items.size(); i++) {
                Message item = (Message) items.get(i);
                Message clean = strip(item);
                if (clean != item) {
                    copy = copy == null ? message.toBuilder() : copy;
                    copy.setRepeatedField(field, i, clean);
                }
            }
            return copy;
        }
        Message item = (Message) value;
        Message clean = strip(item);
        if (clean != item) {
            copy = copy == null ? message.toBuilder() : copy;
            copy.setField(field, clean);
        }
        return copy;
    }

    static boolean secret(FieldDescriptor field) {
        return field.getOptions().getExtension(Csi.csiSecret) || "secrets".equals(field.getName());
    }

    /** A one-line summary of the message without secrets, cut at {@value #MAX_SUMMARY} characters. */
    public static String summary(Object message) {
        if (!(message instanceof Message m)) {
            return String.valueOf(message);
        }
        String text = TextFormat.printer().emittingSingleLine(true).printToString(strip(m)).trim();
        return text.length() <= MAX_SUMMARY ? text : text.substring(0, MAX_SUMMARY) + "...";
    }
}
