// An experience sheet for its organisers (`#/t/<id>/fiches/<fiche>`, issue
// 18): the editor, section by section, pleasant on a phone. Each text is
// its own field that saves only itself (an `EditFiche::Modifier` with that
// one key) a moment after typing stops and when it loses the focus, so
// that two organisers writing offline merge character by character
// (sync-core diffs the text); a change arriving while one types is merged
// into what is being typed (`fusionner`). Then the workflow: « Relire » by
// another organiser than the last author, « Publier », « Retirer » with a
// reason; the published versions with their public pages; « Modifications
// depuis la version publiée » word by word; and « Proposer à un autre
// territoire », with the link its organisers open to accept.
//
// Does not: decide the workflow's rules, the state or the differences
// (sync-core does), or who opens the sheet (the relay, from the
// territories' consent).

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { Confirmation } from "../confirmation";
import { CarteConflit, nomAuteur } from "../conflits";
import type { Driver } from "../driver";
import { annoncer, Cases, Champ, ChampChoix, useRefus } from "../formulaire";
import type { Agenda, ContenuFiche, EditFiche, Fiche, LicenceFiche, Theme } from "../genere/agenda";
import { Icone } from "../icones";
import { libelles, libellesFiches, pluriel } from "../modele";
import { avecJeton, dateVersion } from "./fiches-publiques";
import { MonNom } from "./mon-nom";

/** How long after the last keystroke a text is saved. */
const ATTENTE = 700;

/** The span of `base` that `texte` replaces: [start, end) and the new text. */
function portee(base: string, texte: string): [number, number, string] {
  let debut = 0;
  while (debut < base.length && debut < texte.length && base[debut] === texte[debut]) debut++;
  let fin = 0;
  while (
    fin < base.length - debut &&
    fin < texte.length - debut &&
    base[base.length - 1 - fin] === texte[texte.length - 1 - fin]
  )
    fin++;
  return [debut, base.length - fin, texte.slice(debut, texte.length - fin)];
}

/**
 * What is being typed (`local`, from `base`) with a change that arrived
 * meanwhile (`distant`, from the same `base`): both when they touch
 * different places, what is being typed otherwise. Returns the text and
 * where a cursor at `curseur` in `local` goes in it.
 */
export function fusionner(base: string, local: string, distant: string, curseur = local.length): [string, number] {
  const [a1, b1, l] = portee(base, local);
  const [a2, b2, d] = portee(base, distant);
  const ecart = d.length - (b2 - a2);
  const dansLocal = local !== base && curseur >= a1 && curseur <= a1 + l.length;
  const curseurBase = curseur <= a1 ? curseur : Math.max(a1, curseur - (l.length - (b1 - a1)));
  const apresDistant = curseurBase >= b2 && curseurBase > a2;
  if (b1 <= a2) {
    const texte = base.slice(0, a1) + l + base.slice(b1, a2) + d + base.slice(b2);
    return [texte, curseur + (!dansLocal && apresDistant ? ecart : 0)];
  }
  if (b2 <= a1) {
    const texte = base.slice(0, a2) + d + base.slice(b2, a1) + l + base.slice(b1);
    return [texte, curseur + (dansLocal || apresDistant ? ecart : 0)];
  }
  return [local, curseur];
}

/**
 * A text of the sheet: what the sheet says, or what is being typed over
 * it; saved by `sauver` after `ATTENTE` and on blur.
 */
function Texte({
  id,
  valeur,
  sauver,
  long = false,
  max,
  decrit,
}: {
  id: string;
  valeur: string;
  sauver: (texte: string) => boolean;
  long?: boolean;
  max: number;
  decrit?: string;
}) {
  const local = useRef<string | undefined>(undefined);
  const base = useRef(valeur);
  const focus = useRef(false);
  const minuterie = useRef<ReturnType<typeof setTimeout>>();
  const champ = useRef<HTMLTextAreaElement & HTMLInputElement>(null);
  const curseur = useRef<number>();
  const sauverCourant = useRef(sauver);
  sauverCourant.current = sauver;
  const [, rendre] = useState(0);
  if (local.current === undefined) base.current = valeur;
  else if (valeur !== base.current) {
    // Written elsewhere while this is typed: merged into it.
    const position = champ.current?.selectionStart ?? undefined;
    const [texte, apres] = fusionner(base.current, local.current, valeur, position);
    if (focus.current && position !== undefined) curseur.current = apres;
    local.current = texte;
    base.current = valeur;
  }
  useLayoutEffect(() => {
    if (curseur.current === undefined || !champ.current) return;
    champ.current.setSelectionRange(curseur.current, curseur.current);
    curseur.current = undefined;
  });
  const enregistrer = () => {
    clearTimeout(minuterie.current);
    const texte = local.current;
    if (texte === undefined) return;
    if (texte !== base.current && sauverCourant.current(texte)) base.current = texte;
    if (!focus.current && texte === base.current) {
      local.current = undefined;
      rendre((n) => n + 1);
    }
  };
  // Leaving the screen saves what was typed.
  useEffect(() => () => enregistrer(), []);
  const proprietes = {
    ref: champ,
    id,
    value: local.current ?? valeur,
    maxLength: max,
    "aria-describedby": decrit,
    onFocus: () => (focus.current = true),
    onBlur: () => {
      focus.current = false;
      enregistrer();
    },
    onInput: (e: Event) => {
      local.current = (e.currentTarget as HTMLTextAreaElement).value;
      clearTimeout(minuterie.current);
      minuterie.current = setTimeout(enregistrer, ATTENTE);
    },
  };
  return long ? <textarea rows={6} {...proprietes} /> : <input type="text" {...proprietes} />;
}

export function FicheEditeur({ driver, doc, id }: { driver: Driver; doc: string; id: string }) {
  const { refus, tenter } = useRefus();
  const fiche = driver.fiche(id);
  const agenda = driver.hasDocument(doc) ? driver.agenda(doc) : undefined;
  useEffect(() => {
    if (fiche) document.title = `${fiche.contenu.titre} – Essaim`;
  }, [fiche?.contenu.titre]);
  const retour = (
    <p>
      <a class="bouton discret retour" href={`#/t/${doc}/fiches`}>
        <Icone nom="retour" />
        Toutes les fiches
      </a>
    </p>
  );
  if (!fiche)
    return (
      <>
        {retour}
        <h1>Fiche d'expérience</h1>
        <p role="status">Chargement de la fiche…</p>
        <p class="aide">
          Une fiche d'un autre territoire ne s'ouvre que s'il l'a proposée au vôtre et que vous l'avez acceptée.
        </p>
      </>
    );
  const modifier = (edit: EditFiche) => tenter(() => driver.modifierFiche(id, edit));
  const champ = (champs: Partial<ContenuFiche>) => modifier({ type: "modifier", champs });
  const { sections, statuts, licences } = libellesFiches();
  const c = fiche.contenu;
  return (
    <article class="fiche-editeur" data-testid="fiche-editeur">
      {retour}
      <h1>{c.titre || "Fiche sans titre"}</h1>
      <p>
        <span class={`etat-fiche etat-${fiche.statut}`} data-testid="etat-fiche">
          {statuts[fiche.statut]}
        </span>
        {fiche.contributeurs.length > 0 && <span class="aide"> · écrite par {fiche.contributeurs.join(", ")}</span>}
      </p>
      {!driver.monNom() && <MonNom driver={driver} question />}
      {refus.globale && (
        <p role="alert" class="erreur" data-testid="refus-fiche">
          Refusé&nbsp;: {refus.globale}.
        </p>
      )}
      <ConflitsFiche fiche={fiche} agenda={agenda} garder={(champs) => champ(champs)} />
      <section class="carte" aria-labelledby="fiche-presentation">
        <h2 id="fiche-presentation">Présentation</h2>
        <p class="champ">
          <label for="fiche-titre">Titre</label>
          <Texte id="fiche-titre" valeur={c.titre} max={120} sauver={(titre) => champ({ titre })} />
        </p>
        <p class="champ">
          <label for="fiche-resume">Résumé</label>
          <span class="aide" id="fiche-resume-aide">
            Une phrase ou deux, 200 caractères au plus.
          </span>
          <Texte
            id="fiche-resume"
            long
            valeur={c.resume}
            max={200}
            decrit="fiche-resume-aide"
            sauver={(resume) => champ({ resume })}
          />
        </p>
      </section>
      {sections.map(([cle, titre]) => (
        <section key={cle} class="carte section-fiche" data-testid={`section-${cle}`}>
          <h2>
            <label for={`fiche-${cle}`}>{titre}</label>
          </h2>
          <Texte
            id={`fiche-${cle}`}
            long
            valeur={c[cle as keyof ContenuFiche] as string}
            max={10_000}
            sauver={(texte) => champ({ [cle]: texte })}
          />
        </section>
      ))}
      <Classement contenu={c} agenda={agenda} doc={doc} licences={licences} champ={champ} />
      <Etat driver={driver} fiche={fiche} modifier={modifier} />
      <Differences driver={driver} id={id} fiche={fiche} />
      <Versions doc={doc} id={id} fiche={fiche} jeton={driver.jetonOrganisateur(doc)} />
      <Proposer doc={doc} id={id} fiche={fiche} modifier={modifier} />
    </article>
  );
}

/** The short fields' names, as the editor's labels say them. */
const CHAMPS: Record<string, string> = {
  titre: "Titre",
  resume: "Résumé",
  licence: "Licence du texte",
  portes_entree: "Portes d'entrée",
  mesures_pacte: "Mesures du Pacte",
  actions: "Actions",
  acteurs: "Acteurs publics",
};

/** Concurrent values of the short fields (title, summary, licence…), each kept in one tap. */
function ConflitsFiche({
  fiche,
  agenda,
  garder,
}: {
  fiche: Fiche;
  agenda?: Agenda;
  garder: (champs: Partial<ContenuFiche>) => boolean;
}) {
  const conflits = fiche.conflits.filter((c) => c.chemin.startsWith("fiche/") && c.chemin.split("/").length === 2);
  return (
    <>
      {conflits.map((c) => {
        const cle = c.chemin.split("/")[1];
        return (
          <CarteConflit
            key={c.chemin}
            conflit={c}
            titre={CHAMPS[cle] ?? cle}
            nom={(auteur) => (agenda ? nomAuteur(agenda, auteur) : "un organisateur")}
            garder={(valeur) => garder({ [cle]: valeur })}
          />
        );
      })}
    </>
  );
}

/** Entry doors, Pacte measures, licence, linked actions and public actors. */
function Classement({
  contenu,
  agenda,
  doc,
  licences,
  champ,
}: {
  contenu: ContenuFiche;
  agenda?: Agenda;
  doc: string;
  licences: Record<LicenceFiche, string>;
  champ: (champs: Partial<ContenuFiche>) => boolean;
}) {
  const [mesures, setMesures] = useState<string>();
  const actions = Object.fromEntries(
    Object.entries(agenda?.actions ?? {})
      .filter(([, a]) => !a.supprime)
      .map(([aid, a]) => [aid, a.titre]),
  );
  const liees = contenu.actions.filter((a) => a.territoire === doc).map((a) => a.action);
  const ailleurs = contenu.actions.filter((a) => a.territoire !== doc);
  const acteurs = Object.fromEntries(
    Object.values(agenda?.acteurs ?? {})
      .filter((a) => a.visible_publiquement)
      .map((a) => [a.nom, a.nom]),
  );
  for (const nom of contenu.acteurs) acteurs[nom] ??= nom;
  const enregistrerMesures = () => {
    if (mesures === undefined) return;
    const liste = mesures
      .split(/[\s,;]+/)
      .filter(Boolean)
      .map((m) => m.toUpperCase().replace(/^M?(\d)$/, "M0$1").replace(/^(\d\d)$/, "M$1"));
    if (champ({ mesures_pacte: [...new Set(liste)] })) setMesures(undefined);
  };
  return (
    <details class="carte" data-testid="fiche-classement">
      <summary>
        Classement et liens
        <span class="aide">
          {" "}
          · {pluriel(contenu.portes_entree.length, "porte")} d'entrée, {pluriel(contenu.actions.length, "action")},{" "}
          {pluriel(contenu.acteurs.length, "acteur")}, {contenu.licence}
        </span>
      </summary>
      <Cases
        id="fiche-portes"
        legende="Portes d'entrée"
        valeurs={contenu.portes_entree}
        choix={libelles().theme}
        onChoix={(portes_entree: Theme[]) => champ({ portes_entree })}
      />
      <Champ id="fiche-mesures" label="Mesures du Pacte pour la Transition" aide="Leurs numéros, par exemple : M05, M12">
        <input
          value={mesures ?? contenu.mesures_pacte.join(", ")}
          onInput={(e) => setMesures(e.currentTarget.value)}
          onBlur={enregistrerMesures}
        />
      </Champ>
      <ChampChoix
        id="fiche-licence"
        label="Licence du texte"
        valeur={contenu.licence}
        choix={licences}
        onChoix={(licence) => champ({ licence })}
      />
      {Object.keys(actions).length > 0 && (
        <Cases
          id="fiche-actions"
          legende="Actions du territoire dont elle parle"
          valeurs={liees}
          choix={actions}
          onChoix={(choisies) =>
            champ({ actions: [...ailleurs, ...choisies.map((action) => ({ territoire: doc, action }))] })
          }
        />
      )}
      {Object.keys(acteurs).length > 0 && (
        <Cases
          id="fiche-acteurs"
          legende="Acteurs publics impliqués"
          valeurs={contenu.acteurs}
          choix={acteurs}
          onChoix={(noms) => champ({ acteurs: noms })}
        />
      )}
    </details>
  );
}

/** Where the sheet stands, and the workflow's gestures. */
function Etat({ driver, fiche, modifier }: { driver: Driver; fiche: Fiche; modifier: (edit: EditFiche) => boolean }) {
  const [question, setQuestion] = useState<"relire" | "publier" | "retirer">();
  const [motif, setMotif] = useState("");
  const [erreurMotif, setErreurMotif] = useState<string>();
  const statuts = libellesFiches().statuts;
  const publiee = fiche.statut === "publiee_territoire" || fiche.statut === "publiee_nationale";
  const moiDernier = fiche.dernier_auteur === driver.monActeur();
  const repondre = (oui: boolean) => {
    const q = question;
    setQuestion(undefined);
    if (!oui || !q) return;
    if (q === "relire" && modifier({ type: "relire" })) annoncer("Fiche relue\u00a0: elle peut être publiée.");
    if (q === "publier" && modifier({ type: "publier" })) annoncer("Fiche publiée pour le territoire.");
    if (q === "retirer" && modifier({ type: "retirer", motif: motif.trim() })) {
      setMotif("");
      annoncer("Fiche retirée.");
    }
  };
  return (
    <section class="carte" aria-labelledby="fiche-etat" data-testid="fiche-etat">
      <h2 id="fiche-etat">Relecture et publication</h2>
      <p>
        État&nbsp;: <strong>{statuts[fiche.statut]}</strong>
        {fiche.relecture && ` · relue par ${fiche.relecture.par} le ${dateVersion(fiche.relecture.le)}`}
      </p>
      <p class="aide">
        Avant d'être publiée, chaque version est relue par un autre organisateur que celui qui l'a modifiée en
        dernier.
        {moiDernier && " Vous avez écrit la dernière modification\u00a0: la relecture revient à un autre organisateur."}
      </p>
      <p class="actions">
        {!fiche.relecture && (
          <button type="button" class="secondaire" onClick={() => setQuestion("relire")}>
            <Icone nom="valider" /> Relire
          </button>
        )}
        <button type="button" onClick={() => setQuestion("publier")}>
          Publier
        </button>
      </p>
      {publiee && (
        <form
          class="danger-zone"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (!motif.trim()) return setErreurMotif("Indiquez pourquoi la fiche est retirée.");
            setErreurMotif(undefined);
            setQuestion("retirer");
          }}
        >
          <Champ id="fiche-motif" label="Motif du retrait" aide="Affiché sur les pages publiques à la place de la fiche." erreur={erreurMotif}>
            <textarea rows={2} maxLength={300} value={motif} onInput={(e) => setMotif(e.currentTarget.value)} />
          </Champ>
          <button type="submit" class="danger">
            Retirer
          </button>
        </form>
      )}
      {question === "relire" && (
        <Confirmation
          titre="Relire la fiche"
          texte="Vous confirmez avoir relu tout son contenu actuel et qu'il peut être publié."
          confirmer="J'ai relu la fiche"
          repondre={repondre}
        />
      )}
      {question === "publier" && (
        <Confirmation
          titre="Publier la fiche"
          texte="Les habitants et le public liront cette version. Vous pourrez continuer à l'écrire : ce qui suit ne sera publié qu'après une nouvelle relecture."
          confirmer="Publier"
          repondre={repondre}
        />
      )}
      {question === "retirer" && (
        <Confirmation
          titre="Retirer la fiche"
          texte={`Ses pages publiques diront qu'elle est retirée, avec ce motif : « ${motif.trim()} ».`}
          confirmer="Retirer la fiche"
          danger
          repondre={repondre}
        />
      )}
    </section>
  );
}

/** « Modifications depuis la version publiée », read only when opened. */
function Differences({ driver, id, fiche }: { driver: Driver; id: string; fiche: Fiche }) {
  const [ouvert, setOuvert] = useState(false);
  if (fiche.versions.length === 0) return null;
  const differences = ouvert ? driver.differencesFiche(id) : [];
  return (
    <details class="carte" data-testid="differences" onToggle={(e) => setOuvert(e.currentTarget.open)}>
      <summary>Modifications depuis la version publiée</summary>
      {ouvert && differences.length === 0 && <p>Aucune modification depuis la dernière publication.</p>}
      {ouvert && differences.length > 0 && (
        <p class="aide">Les ajouts sont soulignés et les suppressions barrées.</p>
      )}
      {differences.map((d) => {
        const ajoutes = d.morceaux.filter((m) => m.genre === "ajoute").reduce((n, m) => n + mots(m.texte), 0);
        const retires = d.morceaux.filter((m) => m.genre === "retire").reduce((n, m) => n + mots(m.texte), 0);
        return (
          <section key={d.section} class="difference" data-testid="difference">
            <h3>{d.libelle}</h3>
            <p class="aide">
              {[ajoutes && `${pluriel(ajoutes, "mot")} ${ajoutes > 1 ? "ajoutés" : "ajouté"}`, retires && `${pluriel(retires, "mot")} ${retires > 1 ? "retirés" : "retiré"}`]
                .filter(Boolean)
                .join(", ")}
            </p>
            <p class="texte-difference">
              {d.morceaux.map((m, i) =>
                m.genre === "ajoute" ? (
                  <ins key={i}>
                    <span class="sr-only">[ajouté&nbsp;: </span>
                    {m.texte}
                    <span class="sr-only">]</span>
                  </ins>
                ) : m.genre === "retire" ? (
                  <del key={i}>
                    <span class="sr-only">[retiré&nbsp;: </span>
                    {m.texte}
                    <span class="sr-only">]</span>
                  </del>
                ) : (
                  <span key={i}>{m.texte}</span>
                ),
              )}
            </p>
          </section>
        );
      })}
    </details>
  );
}

function mots(texte: string): number {
  return texte.split(/\s+/).filter(Boolean).length;
}

/** The publications, each with its public page. */
function Versions({ doc, id, fiche, jeton }: { doc: string; id: string; fiche: Fiche; jeton?: string }) {
  if (fiche.versions.length === 0) return null;
  const page = `/t/${encodeURIComponent(doc)}/fiches/${encodeURIComponent(id)}/`;
  const q = jeton ? `token=${encodeURIComponent(jeton)}` : "";
  return (
    <section class="carte" aria-labelledby="fiche-versions" data-testid="versions">
      <h2 id="fiche-versions">Versions publiées</h2>
      <ol class="liste">
        {[...fiche.versions].reverse().map((v) => (
          <li key={v.id}>
            <a href={`${page}?${[`version=${encodeURIComponent(v.id)}`, q].filter(Boolean).join("&")}`}>
              Version du {dateVersion(v.le)}
            </a>{" "}
            <span class="aide">publiée par {v.par}</span>
          </li>
        ))}
      </ol>
      <p>
        <a href={avecJeton(page, jeton)}>Page publique de la fiche</a> ·{" "}
        <a href={avecJeton(`/t/${encodeURIComponent(doc)}/fiches/${encodeURIComponent(id)}.md`, jeton)}>Texte en Markdown</a>
      </p>
    </section>
  );
}

/** A territory's id from what an organiser pastes: its id, its page's link, or an invitation link. */
export function territoireDuTexte(texte: string): string {
  const t = texte.trim();
  const lien = t.match(/#\/territoire\/([^/?#\s]+)/) ?? t.match(/\/t\/([^/?#\s]+)/);
  return decodeURIComponent(lien?.[1] ?? t);
}

/** « Proposer à un autre territoire », then the link its organisers open to accept. */
function Proposer({
  doc,
  id,
  fiche,
  modifier,
}: {
  doc: string;
  id: string;
  fiche: Fiche;
  modifier: (edit: EditFiche) => boolean;
}) {
  const [texte, setTexte] = useState("");
  const [erreur, setErreur] = useState<string>();
  const [lien, setLien] = useState<string>();
  const [copie, setCopie] = useState<string>();
  const autres = Object.keys(fiche.territoires).filter((t) => t !== doc).length;
  const titre = `Fiche d'expérience « ${fiche.contenu.titre} » proposée à votre territoire`;
  const proposer = (event: Event) => {
    event.preventDefault();
    const territoire = territoireDuTexte(texte);
    if (!territoire) return setErreur("Indiquez le territoire, ou collez le lien de sa page.");
    setErreur(undefined);
    if (modifier({ type: "proposer", depuis: doc, territoire })) {
      setLien(`${location.origin}${location.pathname}#/fiches/accepter/${id}/${encodeURIComponent(territoire)}`);
      setTexte("");
      setCopie(undefined);
    }
  };
  const copier = async () => {
    try {
      await navigator.clipboard.writeText(`${titre} : ${lien}`);
      setCopie("Lien copié.");
    } catch {
      setCopie("La copie a échoué\u00a0: sélectionnez le lien et copiez-le.");
    }
  };
  return (
    <section class="carte" aria-labelledby="fiche-proposer" data-testid="proposer-fiche">
      <h2 id="fiche-proposer">Proposer à un autre territoire</h2>
      <p class="aide">
        Ses organisateurs pourront l'écrire avec vous une fois qu'ils l'auront acceptée.
        {autres > 0 && ` Déjà partagée avec ${autres} autre${autres > 1 ? "s" : ""} territoire${autres > 1 ? "s" : ""}.`}
      </p>
      <form onSubmit={proposer} noValidate>
        <Champ
          id="fiche-proposer-territoire"
          label="Territoire"
          aide="Son identifiant, ou le lien de sa page ou d'une de ses invitations."
          erreur={erreur}
        >
          <input value={texte} onInput={(e) => setTexte(e.currentTarget.value)} />
        </Champ>
        <button type="submit" class="secondaire">
          Proposer la fiche
        </button>
      </form>
      {lien && (
        <div data-testid="lien-acceptation">
          <p>Envoyez ce lien à ses organisateurs&nbsp;: ils l'ouvrent sur leur appareil pour accepter la fiche.</p>
          <Champ id="fiche-lien-acceptation" label={titre}>
            <input type="text" readOnly value={lien} data-testid="lien-accepter" onFocus={(e) => e.currentTarget.select()} />
          </Champ>
          <p class="actions">
            {"share" in navigator && (
              <button
                type="button"
                onClick={() => navigator.share({ title: titre, text: titre, url: lien }).catch(() => undefined)}
              >
                Partager
              </button>
            )}
            <button type="button" class="secondaire" onClick={copier}>
              Copier le lien
            </button>
          </p>
          <p aria-live="polite">{copie}</p>
        </div>
      )}
    </section>
  );
}
