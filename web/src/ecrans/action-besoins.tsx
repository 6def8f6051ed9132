// An action's needs: on its page, one card per need with who volunteered
// and the "Je me propose" form (a resident's goes through the relay,
// `driver.demandes`; an organiser's is a direct edit); on its edit screen,
// each need's state and a form to add one. Labels are sync-core's.

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import type { Volontariat } from "../driver/demandes";
import { Champ, ChampChoix, ChampTexte, type Edition, useRefus } from "../formulaire";
import type { Action, Besoin, StatutBesoin } from "../genere/agenda";
import { Icone } from "../icones";
import { aujourdhui, idAleatoire, libelles, pluriel } from "../modele";

/** Without `editer` (a resident's link), volunteering goes through the relay. */
export function Besoins({ driver, doc, action, id, editer }: { driver: Driver; doc: string; action: Action; id: string; editer?: Edition }) {
  const besoins = Object.entries(action.besoins);
  return (
    <section aria-labelledby="besoins" data-testid="section-besoins">
      <h2 id="besoins">
        <Icone nom="personnes" /> Besoins et volontaires
      </h2>
      {besoins.length === 0 ? (
        <p class="aide">Aucun besoin exprimé.</p>
      ) : (
        <ul class="besoins">
          {besoins.map(([bid, b]) => (
            <UnBesoin key={bid} driver={driver} doc={doc} action={id} id={bid} besoin={b} editer={editer} />
          ))}
        </ul>
      )}
    </section>
  );
}

export function libelleBesoin(b: Besoin): string {
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
  const total = volontaires.length + miens.length;
  return (
    <li class="carte besoin" data-testid="besoin" data-statut={besoin.statut}>
      <p class="besoin-titre">
        <strong>{libelle}</strong>
        <span class="etiquette" data-testid="statut-besoin">
          {" · "}
          {libelles().statut_besoin[besoin.statut] ?? besoin.statut}
        </span>
      </p>
      <p class="besoin-volontaires">
        {total === 0 ? "Personne ne s'est encore proposé." : `${pluriel(total, "volontaire")}\u00a0: `}
      </p>
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
                <button type="button" class="discret" onClick={() => void driver.demandes.retirer(v.volontaire)}>
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
        <form onSubmit={proposer} noValidate class="proposer">
          <Champ id={`vol-${id}`} label={`Votre nom, pour « ${libelle} »`} erreur={erreurs.nom}>
            <input autoComplete="name" maxLength={80} value={nom} onInput={(e) => setNom(e.currentTarget.value)} />
          </Champ>
          <Champ id={`vol-msg-${id}`} label="Un mot pour les organisateurs (facultatif)" erreur={erreurs.message}>
            <textarea rows={2} maxLength={500} value={message} onInput={(e) => setMessage(e.currentTarget.value)} />
          </Champ>
          <button type="submit">Je me propose</button>
        </form>
      )}
    </li>
  );
}

/** The edit screen's needs: each one's state, and a new one (`ajoute` once added). */
export function GererBesoins({ action, id, editer, ajoute }: { action: Action; id: string; editer: Edition; ajoute: () => void }) {
  const besoins = Object.entries(action.besoins);
  return (
    <section class="carte" aria-labelledby="gerer-besoins">
      <h2 id="gerer-besoins">Besoins</h2>
      {besoins.length === 0 && <p class="aide">Aucun besoin exprimé.</p>}
      {besoins.map(([bid, b]) => {
        const { volontaires: _, ...sansVolontaires } = b;
        const changer = (statut: StatutBesoin) =>
          editer({ type: "definir_besoin", action_id: id, besoin_id: bid, besoin: { ...sansVolontaires, statut } });
        return (
          <ChampChoix
            key={bid}
            id={`statut-${bid}`}
            label={`État du besoin « ${libelleBesoin(b)} »`}
            valeur={b.statut}
            choix={libelles().statut_besoin}
            onChoix={changer}
          />
        );
      })}
      <NouveauBesoin action={id} editer={editer} ajoute={ajoute} />
    </section>
  );
}

function NouveauBesoin({ action, editer, ajoute }: { action: string; editer: Edition; ajoute: () => void }) {
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
    if (editer({ type: "definir_besoin", action_id: action, besoin_id: idAleatoire(), besoin })) ajoute();
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
        <button type="submit" class="secondaire">
          Ajouter le besoin
        </button>
      </form>
    </details>
  );
}
