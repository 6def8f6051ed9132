// « Décisions » (`#/territoire/<doc>/decisions`): the territory's
// *relevés de décision*, recorded during a meeting, offline too: subject,
// process (consent, vote, consensus…), context, objections and how they
// were handled, outcome, date, review date, linked actions. A decision
// whose review date has come shows « À revoir ». Organisers record and edit
// them (two devices editing different fields merge; the same field shows
// both values with their authors' names, settled in one tap); residents
// read the published ones.
//
// Does not: validate (sync-core does, and says why in French) or merge
// (Automerge does).

import { useState } from "preact/hooks";
import { Conflits } from "../conflits";
import type { Driver } from "../driver";
import { annoncer, Champ, ChampChoix, ChampDate, type Edition, Refuse } from "../formulaire";
import type { Agenda, Decision, Processus, StatutDecision } from "../genere/agenda";
import { Icone } from "../icones";
import { aujourdhui, idAleatoire, jourEnLettres, libelles } from "../modele";
import { MonNom } from "./mon-nom";
import { CHARGEMENT, RetourTerritoire, useTerritoire } from "./ecran-territoire";

export function Decisions({ driver, doc }: { driver: Driver; doc: string }) {
  const { agenda, organisateur, editer, refus } = useTerritoire(driver, doc);
  if (!agenda) return CHARGEMENT;
  const liste = Object.entries(agenda.decisions)
    .filter(([, d]) => !d.supprime && (organisateur || d.publication === "publie"))
    .sort(([, a], [, b]) => (b.issue?.date ?? "").localeCompare(a.issue?.date ?? "") || a.titre.localeCompare(b.titre, "fr"));
  return (
    <>
      <RetourTerritoire doc={doc} />
      <h1>Décisions</h1>
      <p>Qui a décidé quoi, comment, et quand y revenir.</p>
      {organisateur && !driver.monNom() && <MonNom driver={driver} question />}
      <Refuse refus={refus} />
      {organisateur && <NouvelleDecision agenda={agenda} editer={editer} />}
      {liste.length === 0 && <p>Aucune décision {organisateur ? "pour l'instant" : "publiée pour l'instant"}.</p>}
      <ul class="cartes">
        {liste.map(([id, d]) => (
          <UneDecision key={id} agenda={agenda} id={id} decision={d} editer={organisateur ? editer : undefined} />
        ))}
      </ul>
    </>
  );
}

/** Has the review date come (on this device's calendar)? */
const aRevoir = (d: Decision) => Boolean(d.issue?.a_revoir_le && d.issue.a_revoir_le <= aujourdhui());

function UneDecision({ agenda, id, decision: d, editer }: { agenda: Agenda; id: string; decision: Decision; editer?: Edition }) {
  const l = libelles();
  const instance = d.instance_id ? agenda.instances[d.instance_id]?.nom : undefined;
  const actions = d.actions.map((a) => agenda.actions[a]?.titre).filter(Boolean);
  return (
    <li class="carte" data-testid="decision">
      <h2>{d.titre}</h2>
      <p class="pastilles">
        <span class="etiquette">{l.statut_decision[d.statut]}</span>
        {aRevoir(d) && (
          <strong class="etiquette alerte" data-testid="a-revoir">
            <Icone nom="alerte" /> À revoir
          </strong>
        )}
        {editer && d.publication !== "publie" && <span class="etiquette">Non publiée</span>}
      </p>
      {editer && <Conflits agenda={agenda} collection="decisions" id={id} record={d} editer={editer} />}
      <dl class="resume">
        <div>
          <dt>Processus</dt>
          <dd data-testid="processus">{l.processus[d.processus]}</dd>
        </div>
        {instance && (
          <div>
            <dt>Instance</dt>
            <dd>{instance}</dd>
          </div>
        )}
        {d.contexte && (
          <div>
            <dt>Contexte</dt>
            <dd data-testid="contexte">{d.contexte}</dd>
          </div>
        )}
        {d.objections && (
          <div>
            <dt>Objections et leur traitement</dt>
            <dd data-testid="objections">{d.objections}</dd>
          </div>
        )}
        {d.issue && (
          <div>
            <dt>Décision</dt>
            <dd data-testid="enonce">{d.issue.enonce}</dd>
          </div>
        )}
        {d.issue?.date && (
          <div>
            <dt>Prise le</dt>
            <dd>{jourEnLettres(d.issue.date)}</dd>
          </div>
        )}
        {d.issue?.a_revoir_le && (
          <div>
            <dt>À revoir le</dt>
            <dd>{jourEnLettres(d.issue.a_revoir_le)}</dd>
          </div>
        )}
        {actions.length > 0 && (
          <div>
            <dt>Actions concernées</dt>
            <dd>{actions.join(", ")}</dd>
          </div>
        )}
      </dl>
      {editer && (
        <details>
          <summary>Modifier «&nbsp;{d.titre}&nbsp;»</summary>
          <FormulaireDecision agenda={agenda} prefixe={`decision-${id}`} actuelle={d} editer={editer} id={id} />
        </details>
      )}
    </li>
  );
}

/** The form's fields, as text. */
interface Champs {
  titre: string;
  processus: Processus;
  statut: StatutDecision;
  contexte: string;
  objections: string;
  enonce: string;
  date: string;
  a_revoir_le: string;
  publiee: boolean;
  actions: string[];
}

function champsDe(d?: Decision): Champs {
  return {
    titre: d?.titre ?? "",
    processus: d?.processus ?? "consentement",
    statut: d?.statut ?? "actee",
    contexte: d?.contexte ?? "",
    objections: d?.objections ?? "",
    enonce: d?.issue?.enonce ?? "",
    date: d?.issue?.date ?? aujourdhui(),
    a_revoir_le: d?.issue?.a_revoir_le ?? "",
    publiee: d ? d.publication === "publie" : false,
    actions: d?.actions ?? [],
  };
}

/** What the record holds for the form's fields. */
function valeurDe(c: Champs): Partial<Decision> {
  const issue = c.enonce.trim()
    ? { enonce: c.enonce.trim(), date: c.date || null, a_revoir_le: c.a_revoir_le || null }
    : null;
  return {
    titre: c.titre.trim(),
    processus: c.processus,
    statut: c.statut,
    contexte: c.contexte.trim(),
    objections: c.objections.trim(),
    issue,
    publication: c.publiee ? "publie" : "brouillon",
    actions: c.actions,
  };
}

function NouvelleDecision({ agenda, editer }: { agenda: Agenda; editer: Edition }) {
  const [cle, setCle] = useState(0);
  return (
    <details class="carte" data-testid="nouvelle-decision">
      <summary>Nouveau relevé de décision</summary>
      <FormulaireDecision key={cle} agenda={agenda} prefixe="nouvelle-decision" editer={editer} apres={() => setCle(cle + 1)} />
    </details>
  );
}

function FormulaireDecision({
  agenda,
  prefixe,
  actuelle,
  id,
  editer,
  apres,
}: {
  agenda: Agenda;
  prefixe: string;
  actuelle?: Decision;
  id?: string;
  editer: Edition;
  apres?: () => void;
}) {
  const l = libelles();
  // What the fields showed when the form opened: only what was changed
  // since is written, so a form left open never undoes another device's
  // edit of the other fields.
  const [ouvert, setOuvert] = useState<Champs>(() => champsDe(actuelle));
  const [c, setC] = useState<Champs>(ouvert);
  const [erreurs, setErreurs] = useState<Record<string, string>>({});
  const maj = <K extends keyof Champs>(champ: K) => (v: Champs[K]) => setC({ ...c, [champ]: v });
  const enregistrer = (event: Event) => {
    event.preventDefault();
    const e: Record<string, string> = {};
    if (!c.titre.trim()) e.titre = "Indiquez le sujet de la décision.";
    if (c.a_revoir_le && !c.enonce.trim()) e.enonce = "Une date de révision suit une décision prise : indiquez-la.";
    setErreurs(e);
    if (Object.keys(e).length > 0) return;
    if (!actuelle || !id) {
      if (editer({ type: "creer", collection: "decisions", id: idAleatoire(), valeur: valeurDe(c) })) {
        annoncer(`Décision «\u00a0${c.titre.trim()}\u00a0» enregistrée.`);
        apres?.();
      }
      return;
    }
    const change = (k: keyof Champs) => JSON.stringify(c[k]) !== JSON.stringify(ouvert[k]);
    // The record's current values, with the fields changed here.
    const fusion = champsDe(actuelle);
    for (const k of Object.keys(c) as (keyof Champs)[]) if (change(k)) (fusion as unknown as Record<string, unknown>)[k] = c[k];
    const valeur = valeurDe(fusion) as Record<string, unknown>;
    const cles: Record<string, (keyof Champs)[]> = {
      titre: ["titre"],
      processus: ["processus"],
      statut: ["statut"],
      contexte: ["contexte"],
      objections: ["objections"],
      issue: ["enonce", "date", "a_revoir_le"],
      publication: ["publiee"],
      actions: ["actions"],
    };
    const champs = Object.fromEntries(
      Object.entries(cles).filter(([, ks]) => ks.some(change)).map(([k]) => [k, valeur[k]]),
    ) as Partial<Decision>;
    if (Object.keys(champs).length === 0) return;
    if (editer({ type: "modifier", collection: "decisions", id, champs })) {
      setOuvert(c);
      annoncer(`«\u00a0${c.titre.trim()}\u00a0» enregistrée.`);
    }
  };
  const actions = Object.entries(agenda.actions)
    .filter(([, a]) => !a.supprime)
    .sort(([, a], [, b]) => a.titre.localeCompare(b.titre, "fr"));
  return (
    <form onSubmit={enregistrer} noValidate>
      <Champ id={`${prefixe}-titre`} label="Sujet" erreur={erreurs.titre}>
        <input value={c.titre} onInput={(e) => maj("titre")(e.currentTarget.value)} />
      </Champ>
      <ChampChoix id={`${prefixe}-processus`} label="Processus" valeur={c.processus} choix={l.processus} onChoix={maj("processus")} />
      <Champ id={`${prefixe}-contexte`} label="Contexte">
        <textarea rows={3} value={c.contexte} onInput={(e) => maj("contexte")(e.currentTarget.value)} />
      </Champ>
      <Champ id={`${prefixe}-objections`} label="Objections et leur traitement">
        <textarea rows={3} value={c.objections} onInput={(e) => maj("objections")(e.currentTarget.value)} />
      </Champ>
      <Champ id={`${prefixe}-enonce`} label="Ce qui a été décidé" erreur={erreurs.enonce}>
        <textarea rows={2} value={c.enonce} onInput={(e) => maj("enonce")(e.currentTarget.value)} />
      </Champ>
      <ChampDate id={`${prefixe}-date`} label="Prise le" valeur={c.date} onDate={maj("date")} />
      <ChampDate id={`${prefixe}-revoir`} label="À revoir le (facultatif)" valeur={c.a_revoir_le} onDate={maj("a_revoir_le")} />
      <ChampChoix id={`${prefixe}-statut`} label="État" valeur={c.statut} choix={l.statut_decision} onChoix={maj("statut")} />
      {actions.length > 0 && (
        <fieldset>
          <legend>Actions concernées</legend>
          {actions.map(([aid, a]) => (
            <p class="champ case" key={aid}>
              <label>
                <input
                  type="checkbox"
                  checked={c.actions.includes(aid)}
                  onChange={(e) =>
                    maj("actions")(e.currentTarget.checked ? [...c.actions, aid] : c.actions.filter((x) => x !== aid))
                  }
                />{" "}
                {a.titre}
              </label>
            </p>
          ))}
        </fieldset>
      )}
      <p class="champ case">
        <label>
          <input type="checkbox" checked={c.publiee} onChange={(e) => maj("publiee")(e.currentTarget.checked)} /> Publiée
          (lue par les habitants et sur la page publique)
        </label>
      </p>
      <button type="submit">{actuelle ? "Enregistrer" : "Enregistrer la décision"}</button>
    </form>
  );
}
