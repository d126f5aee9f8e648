// The twelve pages of the automotive end-to-end test, written the way DTC
// reference pages, service bulletins, forum threads and a parts listing
// read, and what each holds by the automotive extractors' rules
// (docs/knowledge.md, "The automotive extractors").
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace refinery::testing::automotive_pages {

// ---- the pages ------------------------------------------------------------

const char* const kObdP0420 = R"PAGE(P0420 - Catalyst System Efficiency Below Threshold (Bank 1)

The downstream oxygen sensor (Bank 1 Sensor 2) watches the catalytic converter. When its signal starts switching as fast as the upstream sensor, the engine computer decides the converter no longer stores oxygen and sets P0420.

What Causes Code P0420?
- Failed catalytic converter
- Exhaust leak before the converter
- Faulty downstream O2 sensor
- Engine misfire damaging the converter

How to Diagnose P0420
1. Connect a scan tool and check freeze frame data and any other stored codes.
2. Compare upstream and downstream O2 sensor voltage: the downstream sensor should stay steady around 0.6-0.7 V.
3. Check for exhaust leaks ahead of the downstream sensor with a smoke machine.
4. Measure inlet and outlet temperature with an infrared thermometer; the outlet should run at least 100 °F hotter.)PAGE";

const char* const kTsbP0420 = R"PAGE(Technical Service Bulletin T-SB-0112-10
Title: Check Engine Light With DTC P0420

Applies to: 2007-2009 Toyota Camry with 2AZ-FE engine

Introduction
Some vehicles may exhibit a check engine light with DTC P0420 stored although the three-way catalytic converter is within specification. The engine control module calibration has been updated to improve catalyst monitor accuracy.

Repair Procedure
1. Confirm DTC P0420 with a scan tool and record freeze frame data.
2. Inspect the exhaust system for leaks ahead of the rear air fuel ratio sensor.
3. Reprogram the ECM with the latest calibration using Techstream.
4. Clear codes and complete the catalyst monitor drive pattern.)PAGE";

const char* const kForumCamry = R"PAGE(2009 Camry 2.4 P0420 at 160k, cat or O2 sensor?

Check engine light came back with P0420 (Catalyst System Efficiency Below Threshold Bank 1). The downstream O2 sensor graph on my scanner switches almost as fast as the upstream one, so I think the cat is done.

What causes P0420 besides the cat itself?
- Failed Catalytic Converter.
- exhaust leak before the converter
- A lazy rear O2 sensor

The dealer quoted $1,900 for an OEM converter. Going to check the exhaust manifold gasket first and report back.)PAGE";

// P0420 only inside a part number and two URLs: no mention.
const char* const kConverterAd = R"PAGE(Walker Ultra EPA Direct Fit Catalytic Converter

Fits 2007-2011 Toyota Camry 2.4L. Replaces OE part number 12345-P0420-A; Walker part 16468. Ships with new gaskets, studs and nuts.

This converter meets EPA requirements for 49-state use and carries a 5 year / 50,000 mile warranty. Installation takes about two hours with basic hand tools. Before ordering, confirm the code with our guide at https://www.obd-codes.com/p0420 and check the catalyst chart at www.partsdepot.example/codes/p0420.html so you replace the right part.)PAGE";

const char* const kRepairP0171 = R"PAGE(P0171 – System Too Lean (Bank 1)

P0171 sets when the engine computer has to add much more fuel than its base map expects, with long term fuel trim above +25% at idle, because unmetered air is getting in or the engine is short of fuel.
Related code: P0174 - System Too Lean (Bank 2).

Common causes of P0171:
- Vacuum leak
- Dirty mass air flow sensor, very common on high-mileage engines
- Weak fuel pump
- Clogged fuel filter (rare on newer vehicles)

Check fuel trims with a scan tool before replacing parts.)PAGE";

const char* const kForumEscape = R"PAGE(2013 Ford Escape 2.0 EcoBoost - P0171 keeps coming back

Got the P0171 lean code again, third time this year. Fuel trims at idle are +28% long term and drop to about +5% at 2500 rpm, which everyone says points to a leak on the intake side.

Possible causes people mentioned:
* A vacuum leak.
* a weak fuel pump
* PCV valve stuck open

Going to smoke test it this weekend and will post what I find. Thanks for any help.)PAGE";

const char* const kCodeTable = R"PAGE(Common Engine Codes Quick Reference

| Code | Description | Severity |
|------|-------------|----------|
| P0171 | System Too Lean (Bank 1) | Moderate |
| P0300 | Random/Multiple Cylinder Misfire Detected | Critical |
| U0100 | Lost Communication With ECM/PCM "A" | High |

A code on this list tells you which system failed a self-test, not which part to replace. Read the freeze frame data with a scan tool, look up known fixes for your vehicle and confirm the fault before buying parts.)PAGE";

const char* const kForumF150 = R"PAGE(2011 F-150 5.0 with P0171/P0174 after intake cleaning

Codes P0171/P0174, both banks lean, showed up a week after I cleaned the throttle body and MAF. No rough idle, just the light. Freeze frame says 38% load at 1700 rpm.

Common causes of P0171 on the 5.0:
• Vacuum Leak.
• Dirty or oily MAF sensor after a cleaning job
• Cracked intake boot between the MAF and throttle body

Update: it was the intake boot, cracked underneath where you cannot see it. Codes cleared and have not come back.)PAGE";

const char* const kGuideP0300 = R"PAGE(P0300: Random/Multiple Cylinder Misfire Detected

The engine computer watches crankshaft speed for the small drop each misfire makes. When misfires move around instead of staying on one cylinder, it stores P0300. A flashing check engine light means the misfire can overheat the catalytic converter: stop driving.

Common Causes
- Worn spark plugs
- Vacuum leak
- Low fuel pressure
- Failed ignition coil, usually on one cylinder first

Diagnostic Steps
1. Read freeze frame data with a scan tool to see the rpm and load when the misfire set.
2. Inspect the spark plugs and swap coils between cylinders to see if the misfire follows.
3. Check fuel pressure with a fuel pressure gauge; most port injected engines want 40-60 psi.
4. Run a compression tester on every cylinder: readings should be within 10% of each other.)PAGE";

const char* const kForumAccord = R"PAGE(2012 Accord 2.4 random misfire at idle, P0300

Car shakes at idle and the scanner shows P0300 with no single cylinder code. Plugs have 90k miles on them and I already cleaned the throttle body. Any ideas before I start throwing parts at it?

Reply: at 90k the plugs are due anyway. Pull them and look at the gaps, then swap the coils around and see if the misfire follows one coil. Check the PCV hose for a vacuum leak too, they crack on these engines.)PAGE";

const char* const kTsbP0128 = R"PAGE(Technical Service Bulletin 18-NA-123
Subject: Heater Slow to Warm Up, Check Engine Light On With DTC P0128

Models: 2014-2016 Chevrolet Cruze with 1.4L Turbo Engine (RPO LUV)

Condition
Some customers may comment that the heater takes a long time to warm up and the check engine light is on. The technician may find this code stored:
DTC P0128 - Coolant Thermostat (Coolant Temperature Below Thermostat Regulating Temperature)

Correction
The thermostat may stick partially open and let coolant reach the radiator before the engine is warm. Replace the thermostat housing assembly with the updated part and refill the cooling system. Coolant temperature should reach 195-205 °F after 15 minutes at idle.)PAGE";

const char* const kForumCruze = R"PAGE(Cruze 1.4T heater blows lukewarm, P0128

Scanner at the parts store read P0128 - Engine Coolant Temperature Sensor Circuit Malfunction. They sold me a new coolant temp sensor, I put it in and the light came back two days later. The gauge sits a little below the middle on the highway and the heat is lukewarm at best.

Reply: that code on the Cruze is almost always the thermostat sticking open, not the sensor. There is a bulletin for the thermostat housing. Replace the housing, bleed the system properly and it should warm up to 195 °F or so.)PAGE";

// ---- what each page holds, per the extractor's rules ----------------------

struct Cause {
  std::string code, text, likelihood;
};
struct Page {
  std::string title, url, text;
  std::vector<std::string> codes;                   // the codes it mentions
  std::map<std::string, std::string> descriptions;  // code -> the description it gives
  std::map<std::string, std::string> severities;    // code -> the severity it states
  std::vector<Cause> causes;
};

// clang-format off
enum : size_t { kP0420Ref, kP0420Tsb, kCamry, kAd, kP0171Ref, kEscape, kTable, kF150, kP0300Ref, kAccord, kP0128Tsb,
                kCruze };

inline const std::vector<Page>& Pages() {
  static const std::vector<Page> kPages = {
      {"P0420 Catalyst System Efficiency Below Threshold", "https://www.obd-codes.com/p0420", kObdP0420, {"P0420"},
       {{"P0420", "Catalyst System Efficiency Below Threshold (Bank 1)"}}, {},
       {{"P0420", "Failed catalytic converter", "medium"}, {"P0420", "Exhaust leak before the converter", "medium"},
        {"P0420", "Faulty downstream O2 sensor", "medium"}, {"P0420", "Engine misfire damaging the converter", "medium"}}},
      {"T-SB-0112-10 Check Engine Light With DTC P0420", "https://static.nhtsa.gov/odi/tsbs/2010/MC-10036544-9999.pdf",
       kTsbP0420, {"P0420"}, {}, {}, {}},
      {"2009 Camry 2.4 P0420 at 160k", "https://www.camryforums.com/threads/2009-camry-p0420-at-160k.84211/", kForumCamry,
       {"P0420"}, {{"P0420", "Catalyst System Efficiency Below Threshold Bank 1"}}, {},
       {{"P0420", "Failed Catalytic Converter", "medium"}, {"P0420", "exhaust leak before the converter", "medium"},
        {"P0420", "A lazy rear O2 sensor", "medium"}}},
      {"Walker 16468 Catalytic Converter", "https://www.partsdepot.example/walker-16468", kConverterAd, {}, {}, {}, {}},
      {"P0171 System Too Lean Bank 1", "https://www.autorepairnotes.example/codes/p0171", kRepairP0171, {"P0171", "P0174"},
       {{"P0171", "System Too Lean (Bank 1)"}, {"P0174", "System Too Lean (Bank 2)"}}, {},
       {{"P0171", "Vacuum leak", "medium"}, {"P0171", "Dirty mass air flow sensor, very common on high-mileage engines", "high"},
        {"P0171", "Weak fuel pump", "medium"}, {"P0171", "Clogged fuel filter (rare on newer vehicles)", "low"}}},
      {"P0171 keeps coming back", "https://www.escapeforum.example/threads/p0171-keeps-coming-back.5512/", kForumEscape,
       {"P0171"}, {}, {},
       {{"P0171", "A vacuum leak", "medium"}, {"P0171", "a weak fuel pump", "medium"},
        {"P0171", "PCV valve stuck open", "medium"}}},
      {"Common Engine Codes Quick Reference", "https://www.obd-codes.com/trouble_codes/", kCodeTable,
       {"P0171", "P0300", "U0100"},
       {{"P0171", "System Too Lean (Bank 1)"}, {"P0300", "Random/Multiple Cylinder Misfire Detected"},
        {"U0100", "Lost Communication With ECM/PCM \"A\""}},
       {{"P0171", "moderate"}, {"P0300", "critical"}, {"U0100", "critical"}}, {}},
      {"P0171/P0174 after intake cleaning", "https://www.f150forum.com/f2/p0171-p0174-after-intake-cleaning-41234/",
       kForumF150, {"P0171", "P0174"}, {}, {},
       {{"P0171", "Vacuum Leak", "medium"}, {"P0171", "Dirty or oily MAF sensor after a cleaning job", "medium"},
        {"P0171", "Cracked intake boot between the MAF and throttle body", "medium"}}},
      {"P0300 Random/Multiple Cylinder Misfire", "https://www.autorepairnotes.example/codes/p0300", kGuideP0300,
       {"P0300"}, {{"P0300", "Random/Multiple Cylinder Misfire Detected"}}, {},
       {{"P0300", "Worn spark plugs", "medium"}, {"P0300", "Vacuum leak", "medium"}, {"P0300", "Low fuel pressure", "medium"},
        {"P0300", "Failed ignition coil, usually on one cylinder first", "high"}}},
      {"Random misfire at idle", "https://www.driveaccord.net/forum/threads/random-misfire-p0300.99120/", kForumAccord,
       {"P0300"}, {}, {}, {}},
      {"TSB 18-NA-123 Heater Slow to Warm Up", "https://static.nhtsa.gov/odi/tsbs/2018/MC-10142345-9999.pdf", kTsbP0128,
       {"P0128"}, {{"P0128", "Coolant Thermostat (Coolant Temperature Below Thermostat Regulating Temperature)"}}, {}, {}},
      {"Cruze heater lukewarm P0128", "https://www.cruzetalk.com/forum/threads/p0128-after-new-sensor.23456/",
       kForumCruze, {"P0128"}, {{"P0128", "Engine Coolant Temperature Sensor Circuit Malfunction"}}, {}, {}},
  };
  return kPages;
}
// clang-format on

}  // namespace refinery::testing::automotive_pages
