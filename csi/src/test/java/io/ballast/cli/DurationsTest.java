package io.ballast.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

class DurationsTest {
    @Test
    void parsesWhatPeopleType() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(30), Durations.parse(" 30s "));
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofHours(2), Durations.parse("2h"));
        assertEquals(Duration.ofDays(7), Durations.parse("7d"));
    }

    @Test
    void refusesWithAHint() {
        for (String bad : new String[] {"", "5", "m", "-1s", "1.5m", "9999999999s", "5 min"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
            assertEquals(true, e.getMessage().contains("e.g. 30s"), e.getMessage());
        }
    }

    @Test
    void everyDurationOptionsDefaultParses() {
        // A default the parser refuses fails the command at every start, whatever flags were given.
        int checked = 0;
        for (Object command : new Object[] {new ControllerCommand(), new NodeCommand()}) {
            for (OptionSpec o : new CommandLine(command).getCommandSpec().options()) {
                if ("DURATION".equals(o.paramLabel()) && o.defaultValue() != null) {
                    Durations.parse(o.defaultValue());
                    checked++;
                }
            }
        }
        assertEquals(true, checked >= 4, "DURATION options found: " + checked);
    }
}
