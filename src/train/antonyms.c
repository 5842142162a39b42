/* A small list of antonym pairs for the "swap a word for its opposite"
 * negatives. Written for qaterm: common adjectives, verbs, adverbs and nouns
 * that occur in encyclopaedic questions. Each pair is used both ways. */
#include "train/negatives.h"

#include <stddef.h>
#include <string.h>

static const char *const pairs[][2] = {
    {"first", "last"}, {"largest", "smallest"}, {"biggest", "smallest"}, {"highest", "lowest"},
    {"most", "least"}, {"more", "less"}, {"earliest", "latest"}, {"oldest", "newest"},
    {"longest", "shortest"}, {"best", "worst"}, {"better", "worse"}, {"greatest", "least"},
    {"large", "small"}, {"big", "little"}, {"high", "low"}, {"higher", "lower"},
    {"long", "short"}, {"longer", "shorter"}, {"early", "late"}, {"earlier", "later"},
    {"before", "after"}, {"old", "young"}, {"older", "younger"}, {"ancient", "modern"},
    {"new", "old"}, {"good", "bad"}, {"strong", "weak"}, {"stronger", "weaker"},
    {"strongest", "weakest"}, {"fast", "slow"}, {"faster", "slower"}, {"fastest", "slowest"},
    {"hot", "cold"}, {"warm", "cool"}, {"warmer", "colder"}, {"warmest", "coldest"},
    {"wet", "dry"}, {"heavy", "light"}, {"heavier", "lighter"}, {"rich", "poor"},
    {"richest", "poorest"}, {"wealthy", "poor"}, {"major", "minor"}, {"north", "south"},
    {"northern", "southern"}, {"east", "west"}, {"eastern", "western"}, {"northernmost", "southernmost"},
    {"easternmost", "westernmost"}, {"upper", "lower"}, {"inner", "outer"}, {"inside", "outside"},
    {"internal", "external"}, {"interior", "exterior"}, {"increase", "decrease"},
    {"increased", "decreased"}, {"increases", "decreases"}, {"increasing", "decreasing"},
    {"rise", "fall"}, {"rose", "fell"}, {"gain", "lose"}, {"gained", "lost"}, {"win", "lose"},
    {"won", "lost"}, {"wins", "loses"}, {"victory", "defeat"}, {"success", "failure"},
    {"successful", "unsuccessful"}, {"accept", "reject"}, {"accepted", "rejected"},
    {"allow", "forbid"}, {"allowed", "forbidden"}, {"permitted", "prohibited"},
    {"legal", "illegal"}, {"open", "closed"}, {"opened", "closed"}, {"start", "end"},
    {"started", "ended"}, {"begin", "end"}, {"began", "ended"}, {"beginning", "end"},
    {"birth", "death"}, {"born", "died"}, {"alive", "dead"}, {"live", "die"},
    {"build", "destroy"}, {"built", "destroyed"}, {"create", "destroy"}, {"created", "destroyed"},
    {"founded", "dissolved"}, {"join", "leave"}, {"joined", "left"}, {"enter", "exit"},
    {"entered", "left"}, {"arrive", "depart"}, {"arrived", "departed"}, {"import", "export"},
    {"imported", "exported"}, {"imports", "exports"}, {"buy", "sell"}, {"bought", "sold"},
    {"buyer", "seller"}, {"give", "take"}, {"gave", "took"}, {"lend", "borrow"},
    {"push", "pull"}, {"attack", "defend"}, {"attacked", "defended"}, {"offensive", "defensive"},
    {"support", "oppose"}, {"supported", "opposed"}, {"supporters", "opponents"},
    {"ally", "enemy"}, {"allies", "enemies"}, {"friend", "enemy"}, {"friendly", "hostile"},
    {"peace", "war"}, {"public", "private"}, {"male", "female"}, {"men", "women"},
    {"man", "woman"}, {"boys", "girls"}, {"boy", "girl"}, {"father", "mother"},
    {"son", "daughter"}, {"husband", "wife"}, {"king", "queen"}, {"brother", "sister"},
    {"uncle", "aunt"}, {"positive", "negative"}, {"true", "false"}, {"right", "wrong"},
    {"correct", "incorrect"}, {"possible", "impossible"}, {"common", "rare"},
    {"frequent", "rare"}, {"often", "rarely"}, {"always", "never"}, {"everything", "nothing"},
    {"all", "none"}, {"maximum", "minimum"}, {"max", "min"}, {"above", "below"},
    {"over", "under"}, {"top", "bottom"}, {"front", "back"}, {"forward", "backward"},
    {"left", "right"}, {"up", "down"}, {"near", "far"}, {"nearest", "farthest"},
    {"close", "distant"}, {"deep", "shallow"}, {"deepest", "shallowest"}, {"wide", "narrow"},
    {"widest", "narrowest"}, {"thick", "thin"}, {"hard", "soft"}, {"harder", "softer"},
    {"easy", "difficult"}, {"simple", "complex"}, {"cheap", "expensive"},
    {"cheaper", "costlier"}, {"full", "empty"}, {"dark", "bright"}, {"darkest", "brightest"},
    {"black", "white"}, {"day", "night"}, {"daytime", "nighttime"}, {"summer", "winter"},
    {"spring", "autumn"}, {"sunrise", "sunset"}, {"morning", "evening"}, {"past", "future"},
    {"previous", "next"}, {"former", "latter"}, {"ancestor", "descendant"},
    {"ancestors", "descendants"}, {"parent", "child"}, {"parents", "children"},
    {"teacher", "student"}, {"teachers", "students"}, {"employer", "employee"},
    {"employers", "employees"}, {"majority", "minority"}, {"maximal", "minimal"},
    {"inclusive", "exclusive"}, {"include", "exclude"}, {"included", "excluded"},
    {"includes", "excludes"}, {"add", "remove"}, {"added", "removed"}, {"raise", "lower"},
    {"raised", "lowered"}, {"expand", "shrink"}, {"expanded", "shrank"},
    {"expansion", "contraction"}, {"advantage", "disadvantage"}, {"advantages", "disadvantages"},
    {"benefit", "harm"}, {"benefits", "harms"}, {"strength", "weakness"},
    {"strengths", "weaknesses"}, {"profit", "loss"}, {"profits", "losses"},
    {"surplus", "deficit"}, {"asset", "liability"}, {"credit", "debit"}, {"import", "export"},
    {"input", "output"}, {"inputs", "outputs"}, {"inflow", "outflow"}, {"native", "foreign"},
    {"domestic", "foreign"}, {"local", "national"}, {"rural", "urban"}, {"urban", "rural"},
    {"sacred", "profane"}, {"religious", "secular"}, {"conservative", "liberal"},
    {"conservatives", "liberals"}, {"democratic", "authoritarian"}, {"legislative", "executive"},
    {"agree", "disagree"}, {"agreed", "disagreed"}, {"approve", "disapprove"},
    {"approved", "vetoed"}, {"appear", "disappear"}, {"appeared", "disappeared"},
    {"remember", "forget"}, {"found", "lost"}, {"finish", "start"}, {"finished", "started"},
    {"first", "final"}, {"initial", "final"}, {"primary", "secondary"}, {"same", "different"},
    {"similar", "different"}, {"visible", "invisible"}, {"known", "unknown"},
    {"famous", "obscure"}, {"popular", "unpopular"}, {"happy", "sad"}, {"love", "hate"},
    {"loved", "hated"}, {"safe", "dangerous"}, {"healthy", "sick"}, {"clean", "dirty"},
    {"fresh", "stale"}, {"freshwater", "saltwater"}, {"solid", "liquid"}, {"natural", "artificial"},
    {"organic", "inorganic"}, {"odd", "even"}, {"single", "multiple"}, {"singular", "plural"},
    {"vertical", "horizontal"}, {"ascending", "descending"}, {"upstream", "downstream"},
    {"north", "south"}, {"sooner", "later"}, {"lowest", "highest"}, {"minimum", "maximum"},
};

const char *qt_neg_antonym(const char *word_lower)
{
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        if (strcmp(pairs[i][0], word_lower) == 0)
            return pairs[i][1];
        if (strcmp(pairs[i][1], word_lower) == 0)
            return pairs[i][0];
    }
    return NULL;
}

int qt_neg_antonym_count(void)
{
    return (int)(sizeof pairs / sizeof *pairs);
}
