// Checks the strict JSON reader (reports/strict_json.h) that the scenario and report
// readers start from: a key given twice in one object is refused wherever it is (and
// the same key in two objects is not), each limit is applied with a message that says
// where, and arrays of many objects, which the callback parser rescanned after every
// object, are read or refused whole. Method: parse hand-made and generated text; the
// time these take is measured by scripts/bench_hostile_inputs.py, not asserted here.
#include "faultline/reports/strict_json.h"

#include <gtest/gtest.h>

#include <string>

namespace faultline::reports {
namespace {

constexpr StrictJsonLimits small_limits{.nesting_max = 4, .entries_max = 3, .string_bytes_max = 8};

// The message parse_json_strictly refuses `text` with, or "(accepted)".
std::string refusal(const std::string& text, const StrictJsonLimits& limits = small_limits) {
  try {
    parse_json_strictly(text, "doc", limits);
  } catch (const StrictJsonError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "the message is more than one line: " << message;
    return message;
  }
  return "(accepted)";
}

std::string array_of(std::size_t count, const std::string& item) {
  std::string text = "[";
  for (std::size_t index = 0; index < count; ++index) text += (index == 0 ? "" : ",") + item;
  return text + "]";
}

TEST(StrictJson, BuildsTheSameDocumentAsTheLibrary) {
  const std::string text =
      R"({"a": [1, -2, 3.5, "x", true, null, {"b": {}}], "c": {"d": []}, "e": 18446744073709551615})";
  EXPECT_EQ(parse_json_strictly(text, "doc", StrictJsonLimits{}), nlohmann::json::parse(text));
}

TEST(StrictJson, RefusesAKeyGivenTwiceInOneObjectWhereverItIs) {
  EXPECT_EQ(refusal(R"({"a": 1, "a": 2})"), R"(the key "a" appears twice in one object)");
  EXPECT_EQ(refusal(R"([{}, {"b": [{"a": 1, "a": 1}]}])"), R"(the key "a" appears twice in one object)");
}

TEST(StrictJson, AcceptsTheSameKeyInTwoObjects) {
  EXPECT_EQ(refusal(R"([{"a": 1}, {"a": 2}, {"b": {"a": 3}}])"), "(accepted)");
}

TEST(StrictJson, RefusesAnArrayLongerThanTheLimitAndSaysWhere) {
  EXPECT_EQ(refusal(R"({"list": [1, 2, 3]})"), "(accepted)");
  EXPECT_EQ(refusal(R"({"list": [1, 2, 3, 4]})"), "doc.list has more than 3 entries");
  EXPECT_EQ(refusal(R"([[], [[1, 2, 3, 4]]])"), "doc[1][0] has more than 3 entries");
}

TEST(StrictJson, RefusesAnObjectWithMoreKeysThanTheLimit) {
  EXPECT_EQ(refusal(R"({"x": {"a": 1, "b": 2, "c": 3, "d": 4}})"), "doc.x has more than 3 entries");
}

TEST(StrictJson, RefusesAStringOrKeyLongerThanTheLimitAndSaysWhere) {
  EXPECT_EQ(refusal(R"({"name": "12345678"})"), "(accepted)");
  EXPECT_EQ(refusal(R"({"name": "123456789"})"), "doc.name is a string longer than 8 bytes");
  EXPECT_EQ(refusal(R"({"list": ["a", "123456789"]})"), "doc.list[1] is a string longer than 8 bytes");
  EXPECT_EQ(refusal(R"({"123456789": 1})"), "doc has a key longer than 8 bytes");
}

TEST(StrictJson, RefusesNestingDeeperThanTheLimitAndSaysWhere) {
  EXPECT_EQ(refusal(R"({"a": [[{}]]})"), "(accepted)");
  EXPECT_EQ(refusal(R"({"a": [[{"b": []}]]})"), "doc.a[0][0] nests deeper than 4 levels");
  // Far deeper than any stack would allow a recursive reader.
  EXPECT_EQ(refusal(std::string(1'000'000, '[') + std::string(1'000'000, ']')),
            "doc[0][0][0] nests deeper than 4 levels");
}

TEST(StrictJson, ShowsAnUnusualKeyQuotedAndCut) {
  EXPECT_EQ(refusal(R"({"a\u001bb": [1, 2, 3, 4]})"), R"(doc."a\u001bb" has more than 3 entries)");
}

TEST(StrictJson, RefusesANulByteAndMalformedText) {
  EXPECT_EQ(refusal(std::string("{\"a\": 1}\0", 9)), "not valid JSON: the file contains a NUL byte");
  EXPECT_EQ(refusal(R"({"a": )").rfind("not valid JSON: parse error", 0), 0U) << refusal(R"({"a": )");
  EXPECT_EQ(refusal(R"({"a": 1} {})").rfind("not valid JSON: parse error", 0), 0U);
}

TEST(StrictJson, ReadsAnArrayOfTwoHundredThousandObjects) {
  const StrictJsonLimits limits{.entries_max = 200'000};
  const nlohmann::json document = parse_json_strictly(array_of(200'000, R"({"a": 1})"), "doc", limits);
  ASSERT_EQ(document.size(), 200'000U);
  EXPECT_EQ(document.back(), nlohmann::json({{"a", 1}}));
}

TEST(StrictJson, RefusesTheEntryPastTheLimitOfALongArrayOfObjects) {
  const StrictJsonLimits limits{.entries_max = 10'000};
  EXPECT_EQ(refusal(array_of(200'000, "{}"), limits), "doc has more than 10000 entries");
  EXPECT_EQ(refusal(array_of(10'000, R"({"a": 1, "a": 2})"), limits), R"(the key "a" appears twice in one object)");
}

}  // namespace
}  // namespace faultline::reports
