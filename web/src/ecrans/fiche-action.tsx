// An action's sheet: what it is, where and when (its rhythm as a French
// sentence, its next rendez-vous, each of which can be cancelled, restored
// or moved), its needs and who volunteered, concurrent edits to settle, and
// the forms an organiser uses day to day. Every form writes only the fields
// it changed, so that someone else's concurrent edit of another field stays.

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import type { Volontariat } from "../driver/demandes";
import {
  appliquer,
  Cases,
  Champ,
  ChampChoix,
  ChampTexte,
  type Edition,
  Refuse,
  useBrouillon,
  useRefus,
} from "../formulaire";
import type { Action, Besoin, Exception, RendezVous, StatutBesoin } from "../genere/agenda";
import { aujourdhui, debutDuJour, idAleatoire, libelles, phrase, pluriel, quand } from "../modele";
import { champsDuRythme, EditeurRythme, erreursRythme, rythmeDesChamps } from "../rythme-editeur";
import { EtatOccurrence } from "./occurrence";

type Modification = (champs: Partial<Action>) => boolean;

export function FicheAction({ driver, doc, id }: { driver: Driver; doc: string; id: string }) {
  const agenda = driver.agenda(doc);
  const action = agenda?.actions[id];
  const { refus, tenter } = useRefus();
  if (!agenda || !driver.hasDocument(doc)) return <p>Chargement de l'action…</p>;
  if (!action || action.supprime) return <p role="alert">Cette action n'existe pas ou a été supprimée.</p>;
  const editer: Edition = (edit) => tenter(() => appliquer(driver, doc, edit));
  const organisateur = driver.peutModifier(doc);
  const modifier: Modification = (champs) => editer({ type: "modifier", collection: "actions", id, champs });
  const conflits = agenda.conflits.filter((c) => c.chemin.startsWith(`actions/${id}/`));
  const debutJour = debutDuJour();
  const prochains = driver.rendezVous(doc, debutJour, debutJour + 90 * 86_400_000)
    .filter((r) => r.collection === "actions" && r.id === id)
    .slice(0, 12);
  return (
    <>
      <h1>{action.titre}</h1>
      <p>
        <a href={`#/territoire/${doc}`}>Retour à l'agenda</a>
      </p>
      <Resume action={action} />
      <Refuse refus={refus} />
      {organisateur && conflits.map((c) => {
        const champ = c.chemin.split("/").slice(2);
        return (
          <section key={c.chemin} class="conflit" aria-labelledby={`c-${c.chemin}`}>
            <h2 id={`c-${c.chemin}`}>Modifications simultanées&nbsp;: {champ.join(" / ")}</h2>
            <ul class="liste">
              {c.valeurs.map((v, i) => (
                <li key={i}>
                  « {enTexte(v.valeur)} » par {v.auteur ? v.auteur.slice(0, 8) : "inconnu"}{" "}
                  <button type="button" onClick={() => modifier(valeurAuChemin(action, champ, v.valeur) as Partial<Action>)}>
                    Garder « {enTexte(v.valeur)} »
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
      {prochains.length > 0 && <Prochains prochains={prochains} editer={organisateur ? editer : undefined} id={id} />}
      <Besoins driver={driver} doc={doc} action={action} id={id} editer={organisateur ? editer : undefined} />
      {organisateur && <Modifier action={action} modifier={modifier} />}
      {organisateur && action.rythme && <ChangerRythme action={action} modifier={modifier} />}
      {organisateur && action.rythme?.regle && <Pause id={id} editer={editer} />}
    </>
  );
}

/** A concurrent value as a person reads it. */
function enTexte(valeur: unknown): string {
  const { theme, statut, mode_participation } = libelles() as unknown as Record<string, Record<string, string>>;
  if (Array.isArray(valeur)) return valeur.map((v) => theme[v as string] ?? enTexte(v)).join(", ");
  if (valeur && typeof valeur === "object") {
    const o = valeur as Record<string, unknown>;
    return String(o.libelle ?? o.titre ?? o.nom ?? JSON.stringify(valeur));
  }
  return statut[valeur as string] ?? mode_participation[valeur as string] ?? String(valeur);
}

/** `{lieu: {…lieu, libelle: v}}` for a conflict on `lieu/libelle`. */
function valeurAuChemin(action: Action, chemin: string[], valeur: unknown): Record<string, unknown> {
  if (chemin.length === 1) return { [chemin[0]]: valeur };
  const parent = (action as unknown as Record<string, Record<string, unknown>>)[chemin[0]] ?? {};
  return { [chemin[0]]: { ...parent, ...valeurAuChemin(parent as unknown as Action, chemin.slice(1), valeur) } };
}

function Resume({ action }: { action: Action }) {
  const l = libelles();
  const lignes: [string, string | undefined, string][] = [
    ["Quand", action.rythme ? phrase(action.rythme) : "Chantier au long cours, sans date de rendez-vous", "phrase-rythme"],
    ["État", l.statut[action.statut], "etat"],
    ["Thèmes", action.portes_entree.map((t) => l.theme[t] ?? t).join(", ") || undefined, "themes"],
    ["Lieu", action.lieu?.libelle || undefined, "lieu"],
    ["Adresse", action.lieu?.adresse || undefined, "adresse"],
    ["Participation", action.mode_participation !== "sur_place" ? l.mode_participation[action.mode_participation] : undefined, "participation"],
    ["Lien en ligne", action.lien_en_ligne ?? undefined, "lien-en-ligne"],
    ["En bref", action.resume || undefined, "en-bref"],
    ["Publication", action.publication === "publie" ? undefined : l.publication[action.publication], "publication"],
  ];
  return (
    <>
      <dl class="resume">
        {lignes
          .filter(([, valeur]) => valeur)
          .map(([terme, valeur, testid]) => (
            <div key={terme} data-testid={testid}>
              <dt>{terme}</dt>
              <dd>{valeur}</dd>
            </div>
          ))}
      </dl>
      {action.description && <p class="description">{action.description}</p>}
    </>
  );
}

/** Without `editer` (a resident's link), the list only. */
function Prochains({ prochains, editer, id }: { prochains: RendezVous[]; editer?: Edition; id: string }) {
  const occurrence = (origine: string, exception: Partial<Exception>) =>
    editer?.({ type: "modifier_occurrence", collection: "actions", id, origine, exception }) ?? false;
  return (
    <section aria-labelledby="prochains">
      <h2 id="prochains">Prochains rendez-vous</h2>
      <ul class="liste">
        {prochains.map((r, i) => {
          const o = r.occurrence;
          return (
            <li key={o.origine}>
              {quand(o.debut)}
              <EtatOccurrence occurrence={o} prevu />
              {o.lieu && <span> · {o.lieu}</span>}{" "}
              {!editer ? null : o.etat === "annule" ? (
                <button type="button" onClick={() => occurrence(o.origine, { etat: "programme" })}>
                  Rétablir le rendez-vous du {quand(o.debut)}
                </button>
              ) : (
                <button type="button" onClick={() => occurrence(o.origine, { etat: "annule" })}>
                  Annuler le rendez-vous du {quand(o.debut)}
                </button>
              )}
              {editer && <Deplacer cle={`dep-${i}`} debut={o.debut} deplacer={(debut) => occurrence(o.origine, { debut })} />}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function Deplacer({ cle, debut, deplacer }: { cle: string; debut: string; deplacer: (debut: string) => boolean }) {
  const [date, setDate] = useState(debut.slice(0, 10));
  const [heure, setHeure] = useState(debut.slice(11, 16));
  const [erreur, setErreur] = useState<string>();
  const envoyer = (event: Event) => {
    event.preventDefault();
    if (!date || !/^\d\d:\d\d$/.test(heure)) return setErreur("Indiquez la nouvelle date et l'heure.");
    setErreur(undefined);
    deplacer(`${date}T${heure}:00`);
  };
  return (
    <details>
      <summary>Déplacer le rendez-vous du {quand(debut)}</summary>
      <form onSubmit={envoyer} noValidate>
        <Champ id={`${cle}-date`} label="Nouvelle date" erreur={erreur}>
          <input type="date" value={date} onInput={(e) => setDate(e.currentTarget.value)} />
        </Champ>
        <Champ id={`${cle}-heure`} label="Nouvelle heure">
          <input type="time" value={heure} onInput={(e) => setHeure(e.currentTarget.value)} />
        </Champ>
        <button type="submit">Déplacer</button>
      </form>
    </details>
  );
}

/**
 * Without `editer` (a resident's link), volunteering goes through the
 * relay (`driver.demandes`); an organiser's is a direct edit.
 */
function Besoins({ driver, doc, action, id, editer }: { driver: Driver; doc: string; action: Action; id: string; editer?: Edition }) {
  const besoins = Object.entries(action.besoins);
  return (
    <section aria-labelledby="besoins">
      <h2 id="besoins">Besoins</h2>
      {besoins.length === 0 ? (
        <p>Aucun besoin exprimé.</p>
      ) : (
        <ul class="liste">
          {besoins.map(([bid, b]) => (
            <UnBesoin key={bid} driver={driver} doc={doc} action={id} id={bid} besoin={b} editer={editer} />
          ))}
        </ul>
      )}
      {editer && <NouveauBesoin action={id} editer={editer} />}
    </section>
  );
}

function libelleBesoin(b: Besoin): string {
  const quantite = b.quantite ? ` (${b.quantite}${b.unite ? ` ${b.unite}` : ""})` : "";
  return `${libelles().type_besoin[b.type] ?? b.type}${b.description ? `\u00a0: ${b.description}` : ""}${quantite}`;
}

/** What this device's volunteering shows while the relay has not synced it back. */
function etatVolontariat(v: Volontariat, present: boolean): string {
  if (v.etat === "a-retirer") return "Retrait en attente d'envoi";
  if (present) return "Confirmé";
  return v.etat === "a-envoyer" ? "En attente d'envoi" : "Envoyé, en attente de synchronisation";
}

function UnBesoin({ driver, doc, action, id, besoin, editer }: {
  driver: Driver;
  doc: string;
  action: string;
  id: string;
  besoin: Besoin;
  editer?: Edition;
}) {
  const [nom, setNom] = useState(() => driver.demandes.nomRetenu());
  const [message, setMessage] = useState("");
  const [erreurs, setErreurs] = useState<{ nom?: string; message?: string }>({});
  const miens = driver.demandes.du(doc, action, id);
  const refus = driver.demandes.refusPour(doc, action, id);
  const volontaires = Object.entries(besoin.volontaires).filter(([vid]) => !miens.some((m) => m.volontaire === vid));
  const libelle = libelleBesoin(besoin);
  const ouvert = besoin.statut === "ouvert" || besoin.statut === "partiellement_pourvu";
  const proposer = (event: Event) => {
    event.preventDefault();
    const n = nom.trim();
    const m = message.trim();
    const e: typeof erreurs = {};
    if (!n) e.nom = "Indiquez votre nom.";
    else if ([...n].length > 80) e.nom = "80 caractères au plus.";
    if ([...m].length > 500) e.message = "500 caractères au plus.";
    setErreurs(e);
    if (e.nom || e.message) return;
    if (editer) {
      const volontaire = { nom: n, date: aujourdhui(), confirme: false, ...(m ? { message: m } : {}) };
      if (editer({ type: "ajouter_volontaire", action_id: action, besoin_id: id, volontaire_id: idAleatoire(), volontaire })) setMessage("");
    } else {
      void driver.demandes.proposer(doc, action, id, n, m || undefined).then(() => setMessage(""));
    }
  };
  const { volontaires: _, ...sansVolontaires } = besoin;
  const changerStatut = (statut: StatutBesoin) =>
    editer?.({ type: "definir_besoin", action_id: action, besoin_id: id, besoin: { ...sansVolontaires, statut } });
  const total = volontaires.length + miens.length;
  return (
    <li data-testid="besoin">
      <strong>{libelle}</strong> · {libelles().statut_besoin[besoin.statut] ?? besoin.statut}
      <br />
      {total === 0 ? "Personne ne s'est encore proposé." : `${pluriel(total, "volontaire")}\u00a0: `}
      {total > 0 && (
        <ul class="volontaires" data-testid="volontaires">
          {volontaires.map(([vid, v]) => (
            <li key={vid}>
              {v.nom ?? "membre"}
              {editer && v.message && <span class="message-volontaire"> · « {v.message} »</span>}
            </li>
          ))}
          {miens.map((v) => (
            <li key={v.volontaire} data-testid="mon-volontariat">
              {v.nom} (vous)
              {v.message && <span class="message-volontaire"> · « {v.message} »</span>}
              {" · "}
              <span role="status">{etatVolontariat(v, v.volontaire in besoin.volontaires)}</span>{" "}
              {v.etat !== "a-retirer" && (
                <button type="button" onClick={() => void driver.demandes.retirer(v.volontaire)}>
                  Me retirer
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {refus && (
        <p role="alert" class="erreur">
          Demande refusée par le relais&nbsp;: {refus}
        </p>
      )}
      {ouvert && (
        <form onSubmit={proposer} noValidate class="en-ligne-form">
          <Champ id={`vol-${id}`} label={`Votre nom, pour « ${libelle} »`} erreur={erreurs.nom}>
            <input autoComplete="name" maxLength={80} value={nom} onInput={(e) => setNom(e.currentTarget.value)} />
          </Champ>
          <Champ id={`vol-msg-${id}`} label="Un mot pour les organisateurs (facultatif)" erreur={erreurs.message}>
            <textarea rows={2} maxLength={500} value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
          </Champ>
          <button type="submit">Je me propose</button>
        </form>
      )}
      {editer && (
        <ChampChoix
          id={`statut-${id}`}
          label={`État du besoin « ${libelle} »`}
          valeur={besoin.statut}
          choix={libelles().statut_besoin}
          onChoix={changerStatut}
        />
      )}
    </li>
  );
}

function NouveauBesoin({ action, editer }: { action: string; editer: Edition }) {
  const [type, setType] = useState<Besoin["type"]>("benevoles");
  const [description, setDescription] = useState("");
  const [quantite, setQuantite] = useState("");
  const { refus, verifier } = useRefus();
  const ajouter = (event: Event) => {
    event.preventDefault();
    const erreurs: Record<string, string> = {};
    if (!description.trim()) erreurs.description = "Dites ce qu'il faut.";
    if (quantite && !/^[1-9]\d{0,5}$/.test(quantite)) erreurs.quantite = "Un nombre entier, 1 ou plus.";
    if (!verifier(erreurs)) return;
    const besoin: Partial<Besoin> & Pick<Besoin, "type"> = {
      type,
      description: description.trim(),
      ...(quantite ? { quantite: Number(quantite) } : {}),
      statut: "ouvert",
    };
    if (editer({ type: "definir_besoin", action_id: action, besoin_id: idAleatoire(), besoin })) {
      setDescription("");
      setQuantite("");
    }
  };
  return (
    <details>
      <summary>Ajouter un besoin</summary>
      <form onSubmit={ajouter} noValidate>
        <ChampChoix id="besoin-type" label="Type de besoin" valeur={type} choix={libelles().type_besoin} onChoix={setType} />
        <ChampTexte
          id="besoin-description"
          label="Ce qu'il faut"
          erreur={refus.erreurs.description}
          valeur={description}
          onTexte={setDescription}
        />
        <ChampTexte
          id="besoin-quantite"
          label="Combien (facultatif)"
          erreur={refus.erreurs.quantite}
          inputMode="numeric"
          valeur={quantite}
          onTexte={setQuantite}
        />
        <button type="submit">Ajouter le besoin</button>
      </form>
    </details>
  );
}

/** The form's fields: the action's, with its place's label and address. */
type Brouillon = Pick<
  Action,
  "titre" | "resume" | "description" | "portes_entree" | "statut" | "mode_participation" | "visibilite" | "publication"
> & { libelle: string; adresse: string; lien_en_ligne: string };

function Modifier({ action, modifier }: { action: Action; modifier: Modification }) {
  const { refus, verifier, effacer } = useRefus();
  const actuel: Brouillon = {
    titre: action.titre,
    resume: action.resume,
    description: action.description,
    portes_entree: action.portes_entree,
    statut: action.statut,
    libelle: action.lieu?.libelle ?? "",
    adresse: action.lieu?.adresse ?? "",
    mode_participation: action.mode_participation,
    lien_en_ligne: action.lien_en_ligne ?? "",
    visibilite: action.visibilite,
    publication: action.publication,
  };
  const { v, maj, lie, vider } = useBrouillon(actuel, effacer);
  const l = libelles();
  const enregistrer = (event: Event) => {
    event.preventDefault();
    const erreurs: Record<string, string> = {};
    if (!v.titre.trim()) erreurs.titre = "Le titre est obligatoire.";
    if (v.resume.length > 200) erreurs.resume = "200 caractères au plus.";
    if (v.mode_participation !== "sur_place" && !/^https?:\/\/\S+$/.test(v.lien_en_ligne.trim()))
      erreurs.lien_en_ligne = "Indiquez le lien de participation (https://…).";
    if (!verifier(erreurs)) return;
    const champs: Partial<Action> = {};
    if (v.titre.trim() !== actuel.titre) champs.titre = v.titre.trim();
    if (v.resume.trim() !== actuel.resume) champs.resume = v.resume.trim();
    for (const cle of ["statut", "mode_participation", "visibilite", "publication"] as const) {
      if (v[cle] !== actuel[cle]) Object.assign(champs, { [cle]: v[cle] });
    }
    if (v.description !== actuel.description) champs.description = v.description;
    if (JSON.stringify(v.portes_entree) !== JSON.stringify(actuel.portes_entree)) champs.portes_entree = v.portes_entree;
    if (v.lien_en_ligne.trim() !== actuel.lien_en_ligne) champs.lien_en_ligne = v.lien_en_ligne.trim() || null;
    if (v.libelle.trim() !== actuel.libelle || v.adresse.trim() !== actuel.adresse) {
      const lieu = action.lieu ?? { libelle: "", adresse: "", code_insee: null, lat: null, lon: null, acces: "" };
      champs.lieu = v.libelle.trim() || v.adresse.trim() ? { ...lieu, libelle: v.libelle.trim(), adresse: v.adresse.trim() } : null;
    }
    if (Object.keys(champs).length === 0 || modifier(champs)) vider();
  };
  return (
    <form onSubmit={enregistrer} noValidate>
      <h2>Modifier l'action</h2>
      <ChampTexte id="titre-action" label="Titre" erreur={refus.erreurs.titre} valeur={v.titre} onTexte={maj("titre")} />
      <ChampTexte
        id="resume-action"
        label="En bref"
        aide="Une phrase, 200 caractères au plus."
        erreur={refus.erreurs.resume}
        valeur={v.resume}
        onTexte={maj("resume")}
      />
      <Champ id="description-action" label="Description">
        <textarea rows={4} value={v.description} onInput={(e) => maj("description")(e.currentTarget.value)} />
      </Champ>
      <Cases id="themes-action" legende="Thèmes" valeurs={v.portes_entree} choix={l.theme} onChoix={maj("portes_entree")} />
      <ChampChoix id="statut-action" label="État de l'action" choix={l.statut} {...lie("statut")} />
      <ChampTexte id="lieu-action" label="Lieu" valeur={v.libelle} onTexte={maj("libelle")} />
      <ChampTexte id="adresse-action" label="Adresse" autoComplete="street-address" valeur={v.adresse} onTexte={maj("adresse")} />
      <ChampChoix id="mode-action" label="Participation" choix={l.mode_participation} {...lie("mode_participation")} />
      {v.mode_participation !== "sur_place" && (
        <ChampTexte
          id="lien-action"
          label="Lien de participation en ligne"
          erreur={refus.erreurs.lien_en_ligne}
          type="url"
          valeur={v.lien_en_ligne}
          onTexte={maj("lien_en_ligne")}
        />
      )}
      <ChampChoix id="visibilite-action" label="Qui la voit" choix={l.visibilite} {...lie("visibilite")} />
      <ChampChoix id="publication-action" label="Publication" choix={l.publication} {...lie("publication")} />
      <button type="submit">Enregistrer les modifications</button>
    </form>
  );
}

function ChangerRythme({ action, modifier }: { action: Action; modifier: Modification }) {
  const base = action.rythme!;
  const [champs, setChamps] = useState(() => champsDuRythme(base));
  const { refus, verifier, effacer } = useRefus();
  const enregistrer = (event: Event) => {
    event.preventDefault();
    if (!verifier(erreursRythme(champs))) return;
    // A one-off that becomes recurring (or back) changes nature too:
    // sync-core infers it.
    modifier({ rythme: rythmeDesChamps(champs, base) });
  };
  return (
    <details>
      <summary>Changer le rythme</summary>
      <form onSubmit={enregistrer} noValidate>
        <EditeurRythme
          champs={champs}
          base={base}
          erreurs={refus.erreurs}
          onChange={(c, modifie) => (setChamps(c), effacer(modifie))}
        />
        <button type="submit">Enregistrer le rythme</button>
      </form>
    </details>
  );
}

function Pause({ id, editer }: { id: string; editer: Edition }) {
  const [pause, setPause] = useState({ du: "", au: "" });
  const { refus, verifier } = useRefus();
  const pauser = (event: Event) => {
    event.preventDefault();
    const erreurs: Record<string, string> = {};
    if (!pause.du) erreurs.du = "Indiquez le premier jour de la pause.";
    if (!pause.au) erreurs.au = "Indiquez le dernier jour de la pause.";
    else if (pause.du && pause.au < pause.du) erreurs.au = "La fin de la pause doit suivre son début.";
    if (!verifier(erreurs)) return;
    if (editer({ type: "pauser", collection: "actions", id, pause: { du: pause.du, au: pause.au } })) setPause({ du: "", au: "" });
  };
  return (
    <details>
      <summary>Mettre le rythme en pause</summary>
      <form onSubmit={pauser} noValidate>
        <Champ id="pause-du" label="Premier jour de la pause" erreur={refus.erreurs.du}>
          <input type="date" value={pause.du} onInput={(e) => setPause({ ...pause, du: e.currentTarget.value })} />
        </Champ>
        <Champ id="pause-au" label="Dernier jour de la pause" erreur={refus.erreurs.au}>
          <input type="date" value={pause.au} onInput={(e) => setPause({ ...pause, au: e.currentTarget.value })} />
        </Champ>
        <button type="submit">Mettre en pause</button>
      </form>
    </details>
  );
}
