package io.ballast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
    @Test
    void parsesWhatPeopleType() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(30), Durations.parse(" 30s "));
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofHours(2), Durations.parse("2h"));
    }

    @Test
    void refusesWithAHint() {
        for (String bad : new String[] {"", "5", "m", "-1s", "1.5m", "9999999999s", "5 min"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
            assertEquals(true, e.getMessage().contains("e.g. 30s"), e.getMessage());
        }
    }
}
