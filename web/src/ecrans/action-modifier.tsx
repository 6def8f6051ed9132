// An action's edit screen (`#/territoire/<doc>/action/<id>/modifier`),
// for organisers: its fields, its rhythm, a pause, its needs, and deleting
// it. Every form writes only the fields it changed, so that someone else's
// concurrent edit of another field stays; saving goes back to the action's
// page, at its top. Deleting asks first, then opens the agenda.

import { useState } from "preact/hooks";
import { Confirmation } from "../confirmation";
import type { Driver } from "../driver";
import {
  allerA,
  annoncer,
  appliquer,
  Cases,
  Champ,
  ChampChoix,
  ChampDate,
  ChampTexte,
  type Edition,
  Refuse,
  useBrouillon,
  useRefus,
} from "../formulaire";
import type { Action } from "../genere/agenda";
import { Icone } from "../icones";
import { libelles } from "../modele";
import { champsDuRythme, EditeurRythme, erreursRythme, rythmeDesChamps } from "../rythme-editeur";
import { GererBesoins } from "./action-besoins";

type Modification = (champs: Partial<Action>) => boolean;

export function ModifierAction({ driver, doc, id }: { driver: Driver; doc: string; id: string }) {
  const agenda = driver.agenda(doc);
  const action = agenda?.actions[id];
  const { refus, tenter } = useRefus();
  const [supprimer, setSupprimer] = useState(false);
  if (!agenda || !driver.hasDocument(doc)) return <p>Chargement de l'action…</p>;
  if (!action || action.supprime) return <p role="alert">Cette action n'existe pas ou a été supprimée.</p>;
  const fiche = `#/territoire/${doc}/action/${id}`;
  if (!driver.peutModifier(doc))
    return (
      <p role="alert">
        Seuls les organisateurs du territoire modifient ses actions. <a href={fiche}>Retour à l'action</a>
      </p>
    );
  const editer: Edition = (edit) => tenter(() => appliquer(driver, doc, edit));
  const retour = () => allerA(fiche);
  const modifier: Modification = (champs) => editer({ type: "modifier", collection: "actions", id, champs });
  const repondre = (oui: boolean) => {
    setSupprimer(false);
    if (!oui || !editer({ type: "supprimer", collection: "actions", id })) return;
    const agendaDuTerritoire = `#/territoire/${doc}`;
    allerA(agendaDuTerritoire);
    annoncer(`Action « ${action.titre} » supprimée.`, undefined, agendaDuTerritoire);
  };
  return (
    <div class="formulaire">
      <p class="fiche-barre">
        <a href={fiche} class="retour">
          <Icone nom="retour" /> Retour à l'action
        </a>
      </p>
      <h1>Modifier l'action</h1>
      <Refuse refus={refus} />
      <Champs action={action} modifier={(champs) => (Object.keys(champs).length === 0 || modifier(champs)) && (retour(), true)} />
      {action.rythme && (
        <section class="carte" aria-labelledby="titre-rythme">
          <h2 id="titre-rythme">Rythme</h2>
          <ChangerRythme action={action} modifier={(champs) => modifier(champs) && (retour(), true)} />
          {action.rythme.regle && <Pause id={id} editer={(edit) => editer(edit) && (retour(), true)} />}
        </section>
      )}
      <GererBesoins action={action} id={id} editer={editer} ajoute={retour} />
      <section class="carte danger-zone" aria-labelledby="titre-supprimer">
        <h2 id="titre-supprimer">Supprimer l'action</h2>
        <p>Elle disparaît de l'agenda de tous, avec ses rendez-vous et ses besoins.</p>
        <button type="button" class="danger" onClick={() => setSupprimer(true)}>
          <Icone nom="supprimer" /> Supprimer l'action
        </button>
      </section>
      {supprimer && (
        <Confirmation
          titre={`Supprimer « ${action.titre} »\u00a0?`}
          texte="L'action disparaîtra de l'agenda de tous, avec ses rendez-vous et ses besoins."
          confirmer="Supprimer l'action"
          danger
          repondre={repondre}
          testid="confirmation-suppression"
        />
      )}
    </div>
  );
}

/** The form's fields: the action's, with its place's label and address. */
type Brouillon = Pick<
  Action,
  | "titre"
  | "resume"
  | "description"
  | "portes_entree"
  | "statut"
  | "mode_participation"
  | "visibilite"
  | "publication"
  | "temps_fort"
> & { libelle: string; adresse: string; lien_en_ligne: string };

function Champs({ action, modifier }: { action: Action; modifier: Modification }) {
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
    temps_fort: action.temps_fort,
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
    for (const cle of ["statut", "mode_participation", "visibilite", "publication", "temps_fort"] as const) {
      if (v[cle] !== actuel[cle]) Object.assign(champs, { [cle]: v[cle] });
    }
    if (v.description !== actuel.description) champs.description = v.description;
    if (JSON.stringify(v.portes_entree) !== JSON.stringify(actuel.portes_entree)) champs.portes_entree = v.portes_entree;
    if (v.lien_en_ligne.trim() !== actuel.lien_en_ligne) champs.lien_en_ligne = v.lien_en_ligne.trim() || null;
    if (v.libelle.trim() !== actuel.libelle || v.adresse.trim() !== actuel.adresse) {
      const lieu = action.lieu ?? { libelle: "", adresse: "", code_insee: null, lat: null, lon: null, acces: "" };
      champs.lieu = v.libelle.trim() || v.adresse.trim() ? { ...lieu, libelle: v.libelle.trim(), adresse: v.adresse.trim() } : null;
    }
    if (modifier(champs)) vider();
  };
  return (
    <form onSubmit={enregistrer} noValidate>
      <section class="carte" aria-labelledby="titre-essentiel">
        <h2 id="titre-essentiel">L'essentiel</h2>
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
      </section>
      <section class="carte" aria-labelledby="titre-ou">
        <h2 id="titre-ou">Où</h2>
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
      </section>
      <section class="carte" aria-labelledby="titre-diffusion">
        <h2 id="titre-diffusion">Diffusion</h2>
        <ChampChoix id="visibilite-action" label="Qui la voit" choix={l.visibilite} {...lie("visibilite")} />
        <ChampChoix id="publication-action" label="Publication" choix={l.publication} {...lie("publication")} />
        <div class="champ">
          <label class="case">
            <input type="checkbox" checked={v.temps_fort} onChange={(e) => maj("temps_fort")(e.currentTarget.checked)} />
            Temps fort de l'année (festival, grande journée)
          </label>
          <p class="aide">Mis en avant dans l'agenda national des territoires.</p>
        </div>
      </section>
      <p class="actions">
        <button type="submit">Enregistrer les modifications</button>
      </p>
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
        <button type="submit" class="secondaire">
          Enregistrer le rythme
        </button>
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
    editer({ type: "pauser", collection: "actions", id, pause: { du: pause.du, au: pause.au } });
  };
  return (
    <details>
      <summary>Mettre le rythme en pause</summary>
      <form onSubmit={pauser} noValidate>
        <ChampDate id="pause-du" label="Premier jour de la pause" erreur={refus.erreurs.du} valeur={pause.du} onDate={(du) => setPause({ ...pause, du })} />
        <ChampDate id="pause-au" label="Dernier jour de la pause" erreur={refus.erreurs.au} valeur={pause.au} onDate={(au) => setPause({ ...pause, au })} />
        <button type="submit" class="secondaire">
          Mettre en pause
        </button>
      </form>
    </details>
  );
}
