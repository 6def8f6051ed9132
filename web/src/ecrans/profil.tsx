// The territory's profile (name, kind, presentation, themes, visibility)
// and its roadmap (horizon and phases), read and edited.

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import { appliquer, Cases, Champ, ChampChoix, ChampDate, ChampTexte, type Edition, Refuse, useBrouillon, useRefus } from "../formulaire";
import type { Phase, Profil } from "../genere/agenda";
import { Icone } from "../icones";
import { idAleatoire, libelles, periode } from "../modele";
import { PastilleTheme } from "../themes";
import { MonNom } from "./mon-nom";

export function ProfilTerritoire({ driver, doc }: { driver: Driver; doc: string }) {
  const agenda = driver.agenda(doc);
  const { refus, tenter } = useRefus();
  if (!agenda || !driver.hasDocument(doc)) return <p>Chargement du territoire…</p>;
  const editer: Edition = (edit) => tenter(() => appliquer(driver, doc, edit));
  const profil: Champs = agenda.profil ?? { nom: "", type: "commune", presentation: "", portes_entree: [], visibilite: "prive" };
  const l = libelles();
  const route = agenda.feuille_de_route;
  const phases = Object.entries(route.phases).sort(([, a], [, b]) => (a.debut ?? "9999").localeCompare(b.debut ?? "9999"));
  return (
    <>
      <p>
        <a class="bouton discret retour" href={`#/territoire/${doc}`}>
          <Icone nom="retour" />
          Retour à l'agenda
        </a>
      </p>
      <h1>{profil.nom || "Territoire sans nom"}</h1>
      <dl class="resume carte">
        <div data-testid="type-territoire">
          <dt>Type</dt>
          <dd>{l.type_territoire[profil.type] ?? profil.type}</dd>
        </div>
        <div data-testid="themes-territoire">
          <dt>Thèmes</dt>
          <dd class="pastilles">
            {profil.portes_entree.length === 0
              ? "aucun pour l'instant"
              : profil.portes_entree.map((t) => <PastilleTheme key={t} theme={t} />)}
          </dd>
        </div>
        <div>
          <dt>Visibilité</dt>
          <dd>{l.visibilite_territoire[profil.visibilite] ?? profil.visibilite}</dd>
        </div>
      </dl>
      {driver.peutModifier(doc) && !driver.monNom() && <MonNom driver={driver} question />}
      {profil.presentation && <p class="description">{profil.presentation}</p>}
      <p>
        <a class="bouton secondaire" href={`#/territoire/${doc}/acteurs`} data-testid="lien-acteurs">
          <Icone nom="personnes" /> Acteurs du territoire ({Object.keys(agenda.acteurs).length})
        </a>{" "}
        <a class="bouton secondaire" href={`#/territoire/${doc}/decisions`} data-testid="lien-decisions">
          <Icone nom="valider" /> Décisions
        </a>{" "}
        <a class="bouton secondaire" href={`#/territoire/${doc}/gouvernance`} data-testid="lien-gouvernance">
          <Icone nom="gouvernance_democratie" /> Gouvernance
        </a>{" "}
        <a class="bouton secondaire" href={`#/territoire/${doc}/engagements`} data-testid="lien-engagements">
          <Icone nom="reglages" /> Engagements
        </a>{" "}
        <a class="bouton secondaire" href={`#/t/${doc}/fiches`} data-testid="lien-fiches">
          <Icone nom="liste" /> Fiches d'expérience
        </a>{" "}
        <a class="bouton secondaire" href={`#/territoire/${doc}/historique`} data-testid="lien-historique">
          <Icone nom="liste" /> Historique
        </a>
      </p>
      <Refuse refus={refus} />
      <h2>Feuille de route</h2>
      <p data-testid="horizon">
        {route.horizon_debut || route.horizon_fin
          ? `Horizon\u00a0: ${route.horizon_debut ?? "…"} – ${route.horizon_fin ?? "…"}`
          : "Pas encore d'horizon fixé."}
      </p>
      {phases.length === 0 ? (
        <p>Aucune phase pour l'instant.</p>
      ) : (
        <ol class="cartes">
          {phases.map(([id, p]) => (
            <UnePhase key={id} id={id} phase={p} editer={driver.peutModifier(doc) ? editer : undefined} />
          ))}
        </ol>
      )}
      {driver.peutModifier(doc) && (
        <>
          <NouvellePhase editer={editer} />
          <Horizon debut={route.horizon_debut ?? undefined} fin={route.horizon_fin ?? undefined} editer={editer} />
          <ModifierProfil profil={profil} editer={editer} />
        </>
      )}
    </>
  );
}

function UnePhase({ id, phase, editer }: { id: string; phase: Phase; editer?: Edition }) {
  return (
    <li class="carte" data-testid="phase">
      <strong>{phase.titre}</strong> · {periode(phase.debut ?? undefined, phase.fin ?? undefined)} ·{" "}
      {libelles().statut_phase[phase.statut] ?? phase.statut}
      {phase.description && <p>{phase.description}</p>}
      {editer && (
        <ChampChoix
          id={`statut-${id}`}
          label={`État de la phase « ${phase.titre} »`}
          valeur={phase.statut}
          choix={libelles().statut_phase}
          onChoix={(statut) => editer({ type: "modifier", collection: "phases", id, champs: { statut } })}
        />
      )}
    </li>
  );
}

function NouvellePhase({ editer }: { editer: Edition }) {
  const vide = { titre: "", debut: "", fin: "", description: "" };
  const [p, setP] = useState(vide);
  const { refus, verifier, effacer } = useRefus();
  const maj = (champ: keyof typeof vide) => (e: { currentTarget: { value: string } }) => (
    setP({ ...p, [champ]: e.currentTarget.value }), effacer(champ)
  );
  const ajouter = (event: Event) => {
    event.preventDefault();
    const erreurs: Record<string, string> = {};
    if (!p.titre.trim()) erreurs.titre = "Donnez un titre à la phase.";
    if (p.debut && p.fin && p.fin < p.debut) erreurs.fin = "La fin doit suivre le début.";
    if (!verifier(erreurs)) return;
    const valeur: Partial<Phase> = {
      titre: p.titre.trim(),
      description: p.description.trim(),
      ...(p.debut ? { debut: p.debut } : {}),
      ...(p.fin ? { fin: p.fin } : {}),
    };
    if (editer({ type: "creer", collection: "phases", id: idAleatoire(), valeur })) setP(vide);
  };
  return (
    <details>
      <summary>Ajouter une phase</summary>
      <form onSubmit={ajouter} noValidate>
        <Champ id="phase-titre" label="Titre de la phase" erreur={refus.erreurs.titre}>
          <input value={p.titre} onInput={maj("titre")} />
        </Champ>
        <ChampDate id="phase-debut" label="Début (facultatif)" valeur={p.debut} onDate={(debut) => maj("debut")({ currentTarget: { value: debut } })} />
        <ChampDate id="phase-fin" label="Fin (facultatif)" erreur={refus.erreurs.fin} valeur={p.fin} onDate={(fin) => maj("fin")({ currentTarget: { value: fin } })} />
        <Champ id="phase-description" label="Ce qui s'y fait">
          <textarea rows={3} value={p.description} onInput={maj("description")} />
        </Champ>
        <button type="submit">Ajouter la phase</button>
      </form>
    </details>
  );
}

function Horizon({ debut, fin, editer }: { debut?: string; fin?: string; editer: Edition }) {
  const [a, setA] = useState(debut ?? "");
  const [b, setB] = useState(fin ?? "");
  const { refus, verifier } = useRefus();
  const enregistrer = (event: Event) => {
    event.preventDefault();
    const erreurs: Record<string, string> = {};
    if (a && !/^\d{4}$/.test(a)) erreurs.debut = "Une année sur quatre chiffres, par exemple 2026.";
    if (b && !/^\d{4}$/.test(b)) erreurs.fin = "Une année sur quatre chiffres, par exemple 2032.";
    else if (a && b && b < a) erreurs.fin = "La dernière année doit suivre la première.";
    if (!verifier(erreurs)) return;
    editer({ type: "modifier_horizon", horizon_debut: a || null, horizon_fin: b || null });
  };
  return (
    <details>
      <summary>Fixer l'horizon</summary>
      <form onSubmit={enregistrer} noValidate>
        <Champ id="horizon-debut" label="Première année" erreur={refus.erreurs.debut}>
          <input inputMode="numeric" value={a} onInput={(e) => setA(e.currentTarget.value)} />
        </Champ>
        <Champ id="horizon-fin" label="Dernière année" erreur={refus.erreurs.fin}>
          <input inputMode="numeric" value={b} onInput={(e) => setB(e.currentTarget.value)} />
        </Champ>
        <button type="submit">Enregistrer l'horizon</button>
      </form>
    </details>
  );
}

/** The profile's fields this screen shows and edits. */
type Champs = Pick<Profil, "nom" | "type" | "presentation" | "portes_entree" | "visibilite">;

function ModifierProfil({ profil, editer }: { profil: Champs; editer: Edition }) {
  const { refus, verifier, effacer } = useRefus();
  const { v, maj, lie, vider } = useBrouillon(profil, effacer);
  const l = libelles();
  const enregistrer = (event: Event) => {
    event.preventDefault();
    if (!verifier(v.nom.trim() ? {} : { nom: "Le nom du territoire est obligatoire." })) return;
    const champs: Partial<Profil> = {};
    if (v.nom.trim() !== profil.nom) champs.nom = v.nom.trim();
    if (v.type !== profil.type) champs.type = v.type;
    if (v.presentation !== profil.presentation) champs.presentation = v.presentation;
    if (v.visibilite !== profil.visibilite) champs.visibilite = v.visibilite;
    if (JSON.stringify(v.portes_entree) !== JSON.stringify(profil.portes_entree)) champs.portes_entree = v.portes_entree;
    if (Object.keys(champs).length === 0 || editer({ type: "modifier_profil", champs })) vider();
  };
  return (
    <form onSubmit={enregistrer} noValidate>
      <h2>Modifier le profil</h2>
      <ChampTexte id="profil-nom" label="Nom du territoire" erreur={refus.erreurs.nom} valeur={v.nom} onTexte={maj("nom")} />
      <ChampChoix id="profil-type" label="Type de territoire" choix={l.type_territoire} {...lie("type")} />
      <Champ id="profil-presentation" label="Présentation">
        <textarea rows={4} value={v.presentation} onInput={(e) => maj("presentation")(e.currentTarget.value)} />
      </Champ>
      <Cases id="profil-themes" legende="Thèmes du territoire" valeurs={v.portes_entree} choix={l.theme} onChoix={maj("portes_entree")} />
      <ChampChoix id="profil-visibilite" label="Visibilité" choix={l.visibilite_territoire} {...lie("visibilite")} />
      <button type="submit">Enregistrer le profil</button>
    </form>
  );
}
