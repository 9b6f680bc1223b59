/* The console's entry: the screen the path names (/console/<screen>), after the login. */
import { boot } from "./core.js";
import { start as startIntake } from "./intake.js";
import { startKnowledge } from "./knowledge.js";
import { startDispatch, startFeedback, startQueue } from "./queue.js";
import { startSearch, startTicket, wireQuickFind } from "./search.js";

const STARTERS = {
  intake: startIntake, search: startSearch, ticket: startTicket, queue: startQueue, dispatch: startDispatch,
  feedback: startFeedback, knowledge: startKnowledge,
};

const screen = location.pathname.replace(/\/+$/, "").split("/").pop();
wireQuickFind();
boot(STARTERS[screen] ? screen : null, STARTERS);
